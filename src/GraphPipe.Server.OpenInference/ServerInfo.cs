using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GraphPipe.Server.OpenInference;

/// <summary>What both doors say about the server: name, version, extensions, and liveness/readiness from the host's health checks.</summary>
internal static class ServerInfo
{
    public static readonly string Version = typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Triton's binary tensor data extension (REST); the route parameter is ours.</summary>
    public static readonly string[] Extensions = ["binary_tensor_data", "parameters"];

    /// <summary>The host's readiness checks (stages built, not draining; next stages when required).</summary>
    public static async Task<bool> IsReadyAsync(HealthCheckService health, CancellationToken cancellationToken)
        => (await health.CheckHealthAsync(static c => c.Tags.Contains(GraphPipeServerExtensions.ReadyTag), cancellationToken).ConfigureAwait(false)).Status != HealthStatus.Unhealthy;

    public static async Task<bool> IsLiveAsync(HealthCheckService health, CancellationToken cancellationToken)
        => (await health.CheckHealthAsync(static c => c.Tags.Contains(GraphPipeServerExtensions.LiveTag), cancellationToken).ConfigureAwait(false)).Status != HealthStatus.Unhealthy;
}
