using GraphPipe.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GraphPipe.Server;

/// <summary>
/// Telemetry with OpenTelemetry: metrics at <c>/metrics</c> in Prometheus text format, and traces sent
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) is set.
/// </summary>
public static class ServingTelemetryExtensions
{
    /// <summary>Turns on metrics (and traces where an OTLP endpoint is configured) for this host.</summary>
    public static GraphPipeServingBuilder AddTelemetry(this GraphPipeServingBuilder builder, string serviceName = "graphpipe")
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<TelemetryMarker>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddMeter(ServingMetrics.MeterName, ForwardingTelemetry.MeterName, GraphPipe.Client.Balancing.BalancingTelemetry.MeterName, GraphPipe.Caching.CacheTelemetry.MeterName, ModelReloadMeterName)
                .AddAspNetCoreInstrumentation()
                // Kestrel's memory pool records a measurement on every 4 KB block rented and returned: a 602 KB
                // request over HTTP/2 meant hundreds per call and 6% of the server's CPU (perf, docs/observability.md).
                .AddView(static instrument => instrument.Meter.Name == MemoryPoolMeterName ? MetricStreamConfiguration.Drop : null)
                .AddPrometheusExporter());
        if (OtlpConfigured())
        {
            otel.WithTracing(tracing => tracing
                .AddSource(ServingTelemetry.SourceName, ForwardingTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = static context => !IsHostPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>ASP.NET Core's memory pool meter (<c>aspnetcore.memory_pool.*</c>), which <c>AddAspNetCoreInstrumentation</c> subscribes to.</summary>
    internal const string MemoryPoolMeterName = "Microsoft.AspNetCore.MemoryPool";

    /// <summary>The meter of model hot reload (<c>GraphPipe.Onnx</c>'s repository), named here so this host need not reference ONNX Runtime.</summary>
    private const string ModelReloadMeterName = "GraphPipe.Models";

    internal static bool MapMetrics(IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetService<TelemetryMarker>() is null)
        {
            return false;
        }

        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return true;
    }

    private static bool OtlpConfigured()
        => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));

    private static bool IsHostPath(Microsoft.AspNetCore.Http.PathString path)
        => path.StartsWithSegments("/metrics") || path.StartsWithSegments("/control") || path.StartsWithSegments("/v2/health");

    private sealed class TelemetryMarker;
}
