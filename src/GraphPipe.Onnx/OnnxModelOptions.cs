using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Onnx;

public sealed class OnnxModelOptions : IValidatableObject
{
    /// <summary>Path of the <c>.onnx</c> file to serve.</summary>
    [Required]
    public string ModelPath { get; set; } = string.Empty;

    /// <summary>Name reported in metadata; defaults to the file name without extension.</summary>
    public string? Name { get; set; }

    /// <summary>Version reported in metadata (a model repository's version directory); defaults to the model's own version, else 1.</summary>
    public string? Version { get; set; }

    /// <summary>Threads each session uses inside one operator; 0 lets ONNX Runtime choose (one per core).</summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin (busy-wait) between parallel sections and after a run instead
    /// of sleeping (its <c>session.intra_op.allow_spinning</c>). On by default, as in ONNX Runtime: it wins a little
    /// when the model has the cores to itself; off, the cores go to the HTTP server and other sessions between runs
    /// (see docs/batching.md for the measurements).
    /// </summary>
    public bool IntraOpSpinning { get; set; } = true;

    /// <summary>Parallel model instances (sessions), like the reference servers' <c>--engine-count</c>. Default 1.</summary>
    [Range(1, 256)]
    public int EngineCount { get; set; } = 1;

    /// <summary>
    /// A model whose every input and output is fixed at 1 in dimension 0 (exported at batch 1, like the NuGet
    /// ResNet18) still takes N rows: the stage runs it once per row and stacks the outputs, and metadata reports
    /// dimension 0 as -1. On by default; off, such a model accepts exactly one row.
    /// </summary>
    public bool SplitFixedBatch { get; set; } = true;

    /// <summary>Where the model runs: CPU (default) or CUDA (needs the GPU build of ONNX Runtime, see <see cref="OnnxExecutionProvider.Cuda"/>).</summary>
    public OnnxExecutionProvider ExecutionProvider { get; set; } = OnnxExecutionProvider.Cpu;

    /// <summary>The GPU the CUDA provider uses.</summary>
    [Range(0, 255)]
    public int DeviceId { get; set; }

    /// <summary>
    /// The CPUs (Linux numbers, as <c>taskset</c> takes them) the model runs on: each session's thread and ONNX
    /// Runtime's intra-op threads are pinned to them; the HTTP server and everything else keep the others, so
    /// receiving requests never takes time from a run. Empty (the default): not pinned. With
    /// <see cref="IntraOpThreads"/> 0 a session uses one thread per CPU given. Linux only.
    /// </summary>
    public IList<int> Cpus { get; set; } = [];

    /// <summary>Graph optimization level; on by default (all optimizations).</summary>
    public bool OptimizeGraph { get; set; } = true;

    /// <summary>What the attributes cannot say: <see cref="Cpus"/> must be CPUs this process may run on (Linux).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Cpus.Count > 0 && CpuAffinity.Check([.. Cpus]) is { } why)
        {
            yield return new ValidationResult($"{nameof(Cpus)}: {why}", [nameof(Cpus)]);
        }
    }
}
