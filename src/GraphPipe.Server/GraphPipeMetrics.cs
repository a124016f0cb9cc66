using System.Diagnostics.Metrics;

namespace GraphPipe.Server;

/// <summary>Metrics of the front door (meter <c>GraphPipe.Server</c>), exportable with OpenTelemetry or dotnet-counters.</summary>
internal static class GraphPipeMetrics
{
    public const string MeterName = "GraphPipe.Server";
    public const string ServerName = "graphpipe-dotnet";
    private static readonly Meter Meter = new(MeterName, typeof(GraphPipeMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("graphpipe.server.requests", description: "Inference requests by outcome");
    public static readonly Counter<long> Rejected = Meter.CreateCounter<long>("graphpipe.server.rejected", description: "Requests rejected because the queue was full");
    public static readonly Histogram<double> Duration = Meter.CreateHistogram<double>("graphpipe.server.duration", unit: "s", description: "Time from request start to response written");
}
