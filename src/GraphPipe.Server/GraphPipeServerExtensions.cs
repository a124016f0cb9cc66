using GraphPipe.Server.GraphPipeProtocol;
using GraphPipe.Server.Health;
using GraphPipe.Server.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server;

public static class GraphPipeServerExtensions
{
    internal const string LiveTag = "live";
    internal const string ReadyTag = "ready";

    /// <summary>
    /// Adds the serving host: options (validated on start), the bounded body reader, admission and
    /// deadlines, health checks and the drain on stop. Add stages with the returned builder, then map
    /// protocol endpoints with <see cref="MapGraphPipe"/>.
    /// </summary>
    public static GraphPipeServingBuilder AddGraphPipeServing(this IServiceCollection services, Action<GraphPipeServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GraphPipeServerOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StageCatalog>();
        services.TryAddSingleton<RequestBodyReader>();
        services.TryAddSingleton<StageInvoker>();
        services.TryAddSingleton<RejectionLog>();
        services.TryAddSingleton<GraphPipeEndpoint>();
        services.TryAddSingleton<DrainState>();
        services.AddHostedService<DrainOnStopService>();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GraphPipeServerOptions>>(static (kestrel, o) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = o.Value.MaxRequestBytes;
            kestrel.Limits.MinRequestBodyDataRate = o.Value.MinRequestBodyBytesPerSecond > 0
                ? new MinDataRate(o.Value.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5))
                : null;
        });
        // The host's own stop budget covers the drain delay and then the wait for in-flight requests.
        services.AddOptions<HostOptions>().Configure<IOptions<GraphPipeServerOptions>>(static (host, o) =>
            host.ShutdownTimeout = o.Value.DrainDelay + o.Value.ShutdownTimeout);
        services.AddHealthChecks()
            .AddCheck("alive", static () => HealthCheckResult.Healthy("process is up"), [LiveTag])
            .AddCheck<ReadinessHealthCheck>("ready", tags: [ReadyTag])
            .AddCheck<NextStageHealthCheck>("next_stage", tags: [ReadyTag]);
        return new GraphPipeServingBuilder(services);
    }

    /// <summary>
    /// Maps the GraphPipe endpoint: each stage at <c>/{name}</c> (also those a stage directory adds later), the default stage on every other path
    /// (POST: inference or metadata; GET: metadata JSON), health at <c>/control/is_alive</c>,
    /// <c>/control/is_ready</c>, <c>/v2/health/live</c> and <c>/v2/health/ready</c>, and <c>/metrics</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapGraphPipe(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var catalog = services.GetRequiredService<StageCatalog>();
        var endpoint = services.GetRequiredService<GraphPipeEndpoint>();
        var options = services.GetRequiredService<IOptions<GraphPipeServerOptions>>().Value;

        MapHealth(endpoints, "/control/is_alive", LiveTag);
        MapHealth(endpoints, "/v2/health/live", LiveTag);
        MapHealth(endpoints, "/control/is_ready", ReadyTag);
        MapHealth(endpoints, "/v2/health/ready", ReadyTag);
        if (!ServingTelemetryExtensions.MapMetrics(endpoints))
        {
            endpoints.Map("/metrics", static context => ErrorResponse.WriteTextAsync(context, StatusCodes.Status404NotFound, "metrics are off on this host"));
        }

        if (options.EnableShutdownEndpoint)
        {
            var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
            endpoints.MapPost("/control/shutdown", () =>
            {
                lifetime.StopApplication();
                return Results.Text("shutting down");
            });
        }

        foreach (var stage in catalog.Registered)
        {
            endpoints.Map("/" + stage.Name, context => endpoint.HandleAsync(context, stage));
            if (stage.Stage is GraphPipe.Reloading.IVersionedStage)
            {
                endpoints.Map("/" + stage.Name + "/versions/{version}", context => VersionRoute.HandleAsync(context, endpoint, stage));
            }
        }

        if (services.GetServices<StageDirectoryRegistration>().Any())
        {
            // Stages a directory adds while serving get routes of their own as they come.
            endpoints.DataSources.Add(new AddedStageEndpoints(catalog, endpoint));
        }

        var fallback = catalog.Default;
        endpoints.MapFallback(context => endpoint.HandleAsync(context, fallback));
        return endpoints;
    }

    private static void MapHealth(IEndpointRouteBuilder endpoints, string path, string tag)
        => endpoints.MapHealthChecks(path, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(tag),
            ResponseWriter = HealthResponse.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
}
