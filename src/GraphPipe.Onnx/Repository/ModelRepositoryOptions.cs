using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Onnx.Repository;

/// <summary>How a <see cref="ModelRepository"/> loads models and notices new ones.</summary>
public sealed class ModelRepositoryOptions
{
    /// <summary>The session settings every version is loaded with (its path, name and version are filled in).</summary>
    public OnnxModelOptions Session { get; set; } = new();

    /// <summary>How often the files are checked when no change notification came (a fallback for file systems without them).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long after a change notification the files are read, so a file still being copied settles first.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Whether new versions and replaced files are loaded while serving.</summary>
    public bool Watch { get; set; } = true;

    /// <summary>
    /// A repository directory (<c>NAME/VERSION/model.onnx</c>) whose new model directories are loaded while serving
    /// (raising <see cref="GraphPipe.Reloading.IStageDirectory.StageAdded"/>); null: only the models given are served.
    /// </summary>
    public string? RepositoryDirectory { get; set; }
}
