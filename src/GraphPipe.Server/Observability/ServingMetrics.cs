using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace GraphPipe.Server;

/// <summary>
/// Metrics of the serving host (meter <c>GraphPipe.Server</c>), exported at <c>/metrics</c> when telemetry
/// is on. Every instrument is tagged with <c>graphpipe.stage</c>; names follow OpenTelemetry's HTTP
/// server conventions where one exists (<c>*.request.duration</c>, <c>*.active_requests</c>, body sizes).
/// </summary>
internal static class ServingMetrics
{
    public const string MeterName = "GraphPipe.Server";
    public const string ServerName = "graphpipe-dotnet";
    public const string StageTag = "graphpipe.stage";

    // Resolve 1-100 ms finely: that is where a CPU model stage and its HTTP hop live.
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];
    private static readonly double[] ByteBuckets = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    private static readonly Meter Meter = new(MeterName, typeof(ServingMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Requests = Meter.CreateCounter<long>("graphpipe.server.requests", "{request}", "Requests answered, by stage, outcome and HTTP status");
    public static readonly Histogram<double> Duration = Meter.CreateHistogram("graphpipe.server.request.duration", "s", "Time from the request's start to its response written", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    public static readonly Histogram<double> RunDuration = Meter.CreateHistogram("graphpipe.stage.run.duration", "s", "The stage's own run time, without reading, decoding or writing", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    public static readonly Histogram<double> QueueDuration = Meter.CreateHistogram("graphpipe.server.queue.duration", "s", "Time a request waited for a concurrency slot", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
    public static readonly UpDownCounter<long> Active = Meter.CreateUpDownCounter<long>("graphpipe.server.active_requests", "{request}", "Requests running in the stage");
    public static readonly UpDownCounter<long> Queued = Meter.CreateUpDownCounter<long>("graphpipe.server.queued_requests", "{request}", "Requests waiting for a concurrency slot");
    public static readonly Counter<long> Rejected = Meter.CreateCounter<long>("graphpipe.server.rejected", "{request}", "Requests refused before running: queue full, body too large or too slow");
    public static readonly Histogram<long> RequestBytes = Meter.CreateHistogram("graphpipe.server.request.body.size", "By", "Request body sizes", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = ByteBuckets.Select(b => (long)b).ToArray() });
    public static readonly Histogram<long> ResponseBytes = Meter.CreateHistogram("graphpipe.server.response.body.size", "By", "Response body sizes", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = ByteBuckets.Select(b => (long)b).ToArray() });

    /// <summary>Records one answered request (every protocol endpoint calls this once per request).</summary>
    /// <param name="status">The HTTP status, or for gRPC the HTTP status its outcome corresponds to.</param>
    /// <param name="started">The <see cref="Stopwatch"/> timestamp the request started at.</param>
    public static void RecordRequest(string stage, int status, long started, long requestBytes, long responseBytes)
    {
        var stageTag = new KeyValuePair<string, object?>(StageTag, stage);
        var tags = new TagList
        {
            stageTag,
            { "http.response.status_code", StatusCodeBoxes.Get(status) },
            { "outcome", status < 400 ? "ok" : status < 500 ? "client_error" : "server_error" },
        };
        Requests.Add(1, tags);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, stageTag);
        RequestBytes.Record(requestBytes, stageTag);
        ResponseBytes.Record(responseBytes, stageTag);
    }
}
