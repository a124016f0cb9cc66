using GraphPipe.Stages;

namespace GraphPipe.Reloading;

/// <summary>
/// Stages that can appear while they are served: a model repository where a new model directory is dropped in.
/// A host serves each one at <c>/{name}</c> from the moment it is added, without a restart.
/// </summary>
public interface IStageDirectory
{
    /// <summary>The stages there are now, by name.</summary>
    IReadOnlyList<KeyValuePair<string, IInferenceStage>> Stages { get; }

    /// <summary>Raised once for each stage added, after it is ready to serve (on the thread that found it).</summary>
    event EventHandler<StageAddedEventArgs>? StageAdded;
}

/// <summary>A stage an <see cref="IStageDirectory"/> added.</summary>
public sealed class StageAddedEventArgs(string name, IInferenceStage stage) : EventArgs
{
    public string Name { get; } = name;

    public IInferenceStage Stage { get; } = stage;
}
