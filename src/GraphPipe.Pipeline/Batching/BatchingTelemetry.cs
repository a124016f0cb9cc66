using System.Diagnostics.Metrics;

namespace GraphPipe.Pipelines;

/// <summary>Metrics of dynamic batching (meter <c>GraphPipe.Pipeline</c>, tagged <c>graphpipe.stage</c>).</summary>
public static class BatchingTelemetry
{
    public const string MeterName = ForwardingTelemetry.MeterName;
    public const string StageTag = "graphpipe.stage";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Rows per run of the batched stage (a lone request's run counts too).</summary>
    internal static readonly Histogram<long> BatchSize = Meter.CreateHistogram("graphpipe.batch.size", "{row}", "Rows per run of a batched stage",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256] });

    /// <summary>Time from a request's arrival at the batcher until its batch starts.</summary>
    internal static readonly Histogram<double> QueueDelay = Meter.CreateHistogram("graphpipe.batch.queue.duration", "s", "Time a request waited in the batch queue",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1] });
}
