using GraphPipe.Server.Serving;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GraphPipe.Server.Health;

/// <summary>Ready: every stage is built (models loaded) and the host is not stopping.</summary>
internal sealed class ReadinessHealthCheck(StageCatalog catalog, DrainState drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["stages"] = string.Join(",", catalog.Stages.Select(s => s.Name)),
            ["running"] = catalog.Stages.Sum(s => s.Running),
            ["queued"] = catalog.Stages.Sum(s => s.Queued),
        };
        return Task.FromResult(drain.IsDraining
            ? HealthCheckResult.Unhealthy("stopping: draining in-flight requests", data: data)
            : HealthCheckResult.Healthy("serving", data));
    }
}
