using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Onnx;

public sealed class OnnxModelOptions
{
    /// <summary>Path of the <c>.onnx</c> file to serve.</summary>
    [Required]
    public string ModelPath { get; set; } = string.Empty;

    /// <summary>Name reported in metadata; defaults to the file name without extension.</summary>
    public string? Name { get; set; }

    /// <summary>Threads each session uses inside one operator; 0 lets ONNX Runtime choose (one per core).</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>Parallel model instances (sessions), like the reference servers' <c>--engine-count</c>. Default 1.</summary>
    [Range(1, 256)]
    public int EngineCount { get; set; } = 1;

    /// <summary>Graph optimization level; on by default (all optimizations).</summary>
    public bool OptimizeGraph { get; set; } = true;
}
