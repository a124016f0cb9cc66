using GraphPipe.Stages;

namespace GraphPipe.Reloading;

/// <summary>
/// A stage with versions (a model of a repository): it serves its latest version itself, and each version on
/// request. Hosts serve the versions at <c>/{name}/versions/{version}</c>.
/// </summary>
public interface IVersionedStage : IInferenceStage
{
    /// <summary>The versions served now, oldest first.</summary>
    IReadOnlyList<string> Versions { get; }

    /// <summary>The stage of one version, or null when there is no such version (now).</summary>
    IInferenceStage? FindVersion(string version);
}
