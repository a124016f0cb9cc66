using GraphPipe.Client;
using GraphPipe.Pipelines;
using GraphPipe.Server.Serving;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Health;

/// <summary>
/// Reports whether each forwarding stage's configured next stage answers a metadata request. Unhealthy
/// only when <see cref="GraphPipeServerOptions.ReadinessRequiresNextStage"/> says so; otherwise degraded,
/// which keeps readiness 200 (one slow model must not empty a whole pipeline from its load balancers).
/// </summary>
internal sealed class NextStageHealthCheck(StageCatalog catalog, IOptions<GraphPipeServerOptions> options) : IHealthCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>();
        var failed = new List<string>();
        foreach (var stage in catalog.Stages)
        {
            if (stage.Stage is not ForwardingStage { Next: GraphPipeNextStage nextStage })
            {
                continue;
            }

            var next = nextStage.Endpoint;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            try
            {
                // Through the stage's own (balanced) client: any replica answering counts.
                await nextStage.GetMetadataAsync(timeout.Token).ConfigureAwait(false);
                data[$"{stage.Name}.next"] = $"{next} ok";
            }
            catch (Exception ex) when (ex is GraphPipeException or OperationCanceledException or HttpRequestException)
            {
                data[$"{stage.Name}.next"] = $"{next} not answering";
                failed.Add($"{stage.Name} -> {next}");
            }
        }

        if (failed.Count == 0)
        {
            return HealthCheckResult.Healthy(data.Count == 0 ? "no next stage configured" : "next stages answer", data);
        }

        var message = $"next stage not answering: {string.Join("; ", failed)}";
        return options.Value.ReadinessRequiresNextStage
            ? HealthCheckResult.Unhealthy(message, data: data)
            : HealthCheckResult.Degraded(message, data: data);
    }
}
