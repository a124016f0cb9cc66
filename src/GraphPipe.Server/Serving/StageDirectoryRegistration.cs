using GraphPipe.Reloading;

namespace GraphPipe.Server.Serving;

/// <summary>Stages that appear while the host serves (a model repository's new model directories), served like the stage named <paramref name="ServedLike"/>.</summary>
/// <param name="Directory">Gets the directory from the container; the host never disposes it.</param>
internal sealed record StageDirectoryRegistration(Func<IServiceProvider, IStageDirectory> Directory, string? ServedLike);
