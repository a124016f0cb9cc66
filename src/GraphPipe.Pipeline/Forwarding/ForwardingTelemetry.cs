using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GraphPipe.Pipelines;

/// <summary>Spans and metrics of forwarding to a next stage (server and hybrid sequencing).</summary>
public static class ForwardingTelemetry
{
    public const string SourceName = "GraphPipe.Pipeline";
    public const string MeterName = "GraphPipe.Pipeline";

    internal static readonly ActivitySource Source = new(SourceName);
    private static readonly Meter Meter = new(MeterName);

    internal static readonly Histogram<double> HopDuration = Meter.CreateHistogram("graphpipe.forward.duration", "s", "Time of one call to a next stage, by target",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
}
