using System.Globalization;

namespace GraphPipe.BenchSuite;

internal enum TargetKind
{
    /// <summary>Informational: measured, not judged.</summary>
    None,
    /// <summary>The ratio must be at most the value (e.g. overhead ≤ 1.2x).</summary>
    RatioAtMost,
    /// <summary>The ratio must be at least the value (e.g. ≥ 50x faster).</summary>
    RatioAtLeast,
    /// <summary>Our absolute figure must be at most the value, in the row's unit (e.g. decode ≤ 5 µs).</summary>
    OursAtMost,
}

/// <summary>Which way a row's ratio is taken; rows pick the one that makes "bigger" read naturally.</summary>
internal enum RatioOf
{
    /// <summary>ours / baseline: for times, the slowdown (overhead) relative to the baseline.</summary>
    OursOverBaseline,
    /// <summary>baseline / ours: for times, how many times faster ours is.</summary>
    BaselineOverOurs,
}

/// <summary>A row's pass/miss criterion.</summary>
internal sealed record RowTarget(TargetKind Kind, double Value)
{
    public static readonly RowTarget None = new(TargetKind.None, double.NaN);

    public static RowTarget RatioAtMost(double value) => new(TargetKind.RatioAtMost, value);

    public static RowTarget RatioAtLeast(double value) => new(TargetKind.RatioAtLeast, value);

    public static RowTarget OursAtMost(double value) => new(TargetKind.OursAtMost, value);

    /// <summary>Null for an informational target or when a side could not be measured (NaN).</summary>
    public bool? IsMet(double ours, double ratio) => Kind switch
    {
        TargetKind.RatioAtMost when !double.IsNaN(ratio) => ratio <= Value,
        TargetKind.RatioAtLeast when !double.IsNaN(ratio) => ratio >= Value,
        TargetKind.OursAtMost when !double.IsNaN(ours) => ours <= Value,
        _ => null,
    };

    public string Describe(string unit) => Kind switch
    {
        TargetKind.RatioAtMost => string.Create(CultureInfo.InvariantCulture, $"ratio ≤ {Value:0.##}x"),
        TargetKind.RatioAtLeast => string.Create(CultureInfo.InvariantCulture, $"ratio ≥ {Value:0.##}x"),
        TargetKind.OursAtMost => string.Create(CultureInfo.InvariantCulture, $"ours ≤ {Value:0.##} {unit}"),
        _ => "info",
    };
}

/// <summary>One line of the suite's table: our figure against the limit or peer it is compared with.</summary>
internal sealed record RowResult
{
    /// <summary>The suite part that produced the row (protocol, server, model, ...).</summary>
    public required string Group { get; init; }

    /// <summary>"ours vs baseline", e.g. "encode 1x3x224x224 vs memcpy".</summary>
    public required string Name { get; init; }

    /// <summary>Our median (NaN when skipped).</summary>
    public double Ours { get; init; } = double.NaN;

    public double? OursP90 { get; init; }

    public double Baseline { get; init; } = double.NaN;

    public double? BaselineP90 { get; init; }

    public string Unit { get; init; } = string.Empty;

    public double Ratio { get; init; } = double.NaN;

    public RatioOf RatioOf { get; init; }

    public RowTarget Target { get; init; } = RowTarget.None;

    /// <summary>True/false when judged; null for informational or skipped rows.</summary>
    public bool? Met { get; init; }

    /// <summary>Extra facts: configuration, allocations, sample counts, errors.</summary>
    public string? Note { get; init; }

    /// <summary>Why the row was not measured; null when it was.</summary>
    public string? Skipped { get; init; }

    /// <summary>Why the row's measurement broke (an exception); null when it ran.</summary>
    public string? Error { get; init; }

    /// <summary>A measured row: ratio and verdict computed from the two figures.</summary>
    public static RowResult Compare(string group, string name, double ours, double baseline, string unit, RowTarget target, RatioOf ratioOf = RatioOf.OursOverBaseline, double? oursP90 = null, double? baselineP90 = null, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var ratio = ratioOf == RatioOf.OursOverBaseline ? Stats.Ratio(ours, baseline) : Stats.Ratio(baseline, ours);
        return new RowResult
        {
            Group = group,
            Name = name,
            Ours = ours,
            OursP90 = oursP90,
            Baseline = baseline,
            BaselineP90 = baselineP90,
            Unit = unit,
            Ratio = ratio,
            RatioOf = ratioOf,
            Target = target,
            Met = target.IsMet(ours, ratio),
            Note = note,
        };
    }

    public static RowResult Skip(string group, string name, RowTarget target, string reason) => new()
    {
        Group = group,
        Name = name,
        Target = target,
        Skipped = reason,
    };
}

/// <summary>
/// One pluggable part of the suite (e.g. the protocol comparisons). It measures ours and its baseline
/// in the same process and returns one or more rows; it reports a missing prerequisite (a model file,
/// a native library) as a skipped row rather than failing the suite.
/// </summary>
internal interface IBenchRow
{
    /// <summary>Short id used by <c>--only</c>, e.g. <c>protocol</c>.</summary>
    string Id { get; }

    string Title { get; }

    Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken);
}

/// <summary>Everything rows share: the mode's time budgets, the model to serve, progress output.</summary>
internal sealed class SuiteContext
{
    public required bool Quick { get; init; }

    /// <summary>The model for the model-serving rows, or null with <see cref="ModelMissingReason"/>.</summary>
    public string? ModelPath { get; init; }

    public string ModelMissingReason { get; init; } = "no model";

    /// <summary>One label per line for the model's score output (pipeline row); null: placeholder labels <c>class 0..C-1</c>.</summary>
    public string? LabelsPath { get; init; }

    /// <summary>The preprocessing profile of the pipeline row; null: picked from the model's input shape (NCHW: resnet18, NHWC: vgg).</summary>
    public string? ProfileName { get; init; }

    /// <summary>Intra-op threads of the single session of the concurrency-1 model rows.</summary>
    public int IntraOpThreads { get; init; } = 2;

    /// <summary>Sessions (engines) on both sides of the concurrency-4 model rows.</summary>
    public int EngineCount { get; init; } = 2;

    /// <summary>ONNX Runtime intra-op spinning of the sessions the model and batching rows serve (on, as <c>serve onnx</c>); the spinning rows flip it. Baselines: on, ORT's default.</summary>
    public bool ServedSpinning { get; init; } = true;

    public Action<string> Progress { get; init; } = _ => { };

    /// <summary>Multiplies every time budget; tests run the rows with a tiny scale to check they work end to end.</summary>
    public double TimeScale { get; init; } = 1;

    /// <summary>Ours and baseline run alternately this many times each; samples are pooled, so load drift hits both.</summary>
    public int Rounds => Quick ? 4 : 6;

    /// <summary>Measured time per side for microbenchmarks (split over <see cref="Rounds"/>).</summary>
    public TimeSpan MicroTime => Scaled(Quick ? 0.6 : 4);

    public TimeSpan MicroWarmup => Scaled(Quick ? 0.1 : 0.5);

    /// <summary>Measured time per side for HTTP round trips.</summary>
    public TimeSpan HttpTime => Scaled(Quick ? 2 : 12);

    /// <summary>Measured time per side for model runs (at ~100 ms per run on 2 cores, quick mode still gets ~60 samples).</summary>
    public TimeSpan ModelTime => Scaled(Quick ? 6 : 30);

    /// <summary>Unmeasured time each operation runs once before its first round, for the JIT to reach full optimisation.</summary>
    public TimeSpan JitWarmup => Scaled(Quick ? 0.7 : 2);

    public TimeSpan Warmup => Scaled(Quick ? 0.3 : 1);

    /// <summary>A round's share of <paramref name="total"/>.</summary>
    public TimeSpan PerRound(TimeSpan total) => total / Rounds;

    private TimeSpan Scaled(double seconds) => TimeSpan.FromSeconds(seconds * TimeScale);
}
