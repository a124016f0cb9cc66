using GraphPipe.Stages;

namespace GraphPipe.Server.Serving;

/// <summary>A stage the host serves: its name (the path <c>/{name}</c>), how to get it, and whether the host disposes it.</summary>
/// <remarks>The factory also gets the stages registered before it, by name, so co-located stages can be chained in-process.</remarks>
internal sealed record StageRegistration(string Name, Func<IServiceProvider, Func<string, IInferenceStage?>, IInferenceStage> Factory, bool IsDefault, bool OwnedByHost)
{
    /// <summary>
    /// Serves another stage the way this registration serves its own (e.g. forwarding to the same next stage): how a
    /// stage added while serving (<see cref="StageDirectoryRegistration.ServedLike"/>) is wrapped. Null: served as it is.
    /// </summary>
    public Func<IServiceProvider, Func<string, IInferenceStage?>, IInferenceStage, IInferenceStage>? ServeLike { get; init; }
}
