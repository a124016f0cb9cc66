using System.Diagnostics.Metrics;

namespace GraphPipe.Client.Balancing;

/// <summary>
/// Metrics of client-side balancing, in the client's meter (<see cref="MeterName"/>): replicas ejected by
/// passive health and brought back by a probe, and retries sent to another replica. Each is tagged with
/// the replica (<c>endpoint</c>, host:port) and the stage as callers name it (<c>group</c>).
/// </summary>
public static class BalancingTelemetry
{
    /// <summary>The meter of the GraphPipe client (add it to your metrics exporter; the serving host does).</summary>
    public const string MeterName = "GraphPipe.Client";

    private static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Ejections = Meter.CreateCounter<long>("graphpipe.client.endpoint.ejections", "{ejection}", "Replicas left out by passive health after consecutive failures, by replica");

    internal static readonly Counter<long> Restorations = Meter.CreateCounter<long>("graphpipe.client.endpoint.restorations", "{restoration}", "Ejected replicas whose probe succeeded (back in rotation), by replica");

    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("graphpipe.client.retries", "{retry}", "Requests sent again to another replica, by the replica the previous attempt failed on");

    internal static KeyValuePair<string, object?> Endpoint(BalancedEndpoint endpoint) => new("endpoint", endpoint.Address.Authority);

    internal static KeyValuePair<string, object?> Group(EndpointGroup group) => new("group", group.Address.Authority);
}
