using System.Diagnostics.Metrics;

namespace GraphPipe.Caching;

/// <summary>
/// Metrics of the response cache (meter <c>GraphPipe.Cache</c>): hits and misses by stage, evictions from the
/// in-memory level, and failures of the shared level (Redis), which the cache bypasses rather than fail a request.
/// </summary>
public static class CacheTelemetry
{
    public const string MeterName = "GraphPipe.Cache";
    internal const string StageTag = "graphpipe.stage";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Hits = Meter.CreateCounter<long>("graphpipe.cache.hits", "{request}", "Requests answered from the response cache, by stage");
    internal static readonly Counter<long> Misses = Meter.CreateCounter<long>("graphpipe.cache.misses", "{request}", "Requests the response cache did not hold, by stage (the stage ran)");
    internal static readonly Counter<long> Stored = Meter.CreateCounter<long>("graphpipe.cache.stored", "By", "Bytes of responses written to the cache");

    /// <summary>Entries the in-memory level dropped to stay within its size (tag <c>reason</c>: capacity, expired, replaced).</summary>
    public static readonly Counter<long> Evictions = Meter.CreateCounter<long>("graphpipe.cache.evictions", "{entry}", "Entries dropped from the in-memory level, by reason");

    /// <summary>Failed calls to the shared level (tag <c>reason</c>: timeout, error); the request went on without it.</summary>
    public static readonly Counter<long> L2Errors = Meter.CreateCounter<long>("graphpipe.cache.l2.errors", "{call}", "Calls to the shared cache (Redis) that failed or timed out; the cache bypassed it");

    /// <summary>Calls to the shared level skipped while it is considered down after a failure.</summary>
    public static readonly Counter<long> L2Bypassed = Meter.CreateCounter<long>("graphpipe.cache.l2.bypassed", "{call}", "Calls to the shared cache (Redis) skipped while it is considered down");
}
