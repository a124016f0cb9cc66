using GraphPipe.Server.OpenInference.Grpc;
using GraphPipe.Server.OpenInference.Rest;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.OpenInference;

public static class OpenInferenceExtensions
{
    /// <summary>
    /// Adds the Open Inference Protocol (KServe v2) door to the serving host: REST on the host's port and,
    /// with <see cref="OpenInferenceOptions.GrpcListen"/>, gRPC on a port of its own (HTTP/2; HTTPS and mutual TLS
    /// with <see cref="OpenInferenceOptions.GrpcTls"/>; the host's API key check applies to it too). It
    /// serves the same stages with the same admission, limits, metrics and health. Map it with
    /// <see cref="MapOpenInference"/> (hosts started by <see cref="GraphPipeStageHost"/> map it themselves).
    /// </summary>
    public static GraphPipeServingBuilder AddOpenInference(this GraphPipeServingBuilder builder, Action<OpenInferenceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<OpenInferenceOptions>().ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<OpenInferenceInvoker>();
        services.TryAddSingleton<RestEndpoint>();
        services.TryAddSingleton<GrpcListener>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProtocolEndpoints, OpenInferenceEndpoints>());
        services.AddGrpc();
        // The gRPC message limit is the host's body limit; responses are not limited, as over HTTP.
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GraphPipeServerOptions>>(static (grpc, o) =>
        {
            grpc.MaxReceiveMessageSize = (int)Math.Min(o.Value.MaxRequestBytes, int.MaxValue);
            grpc.MaxSendMessageSize = null;
        });
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<OpenInferenceOptions>, GrpcListener>(static (kestrel, o, listener) =>
        {
            if (o.Value.GrpcListen is not { } listen)
            {
                return;
            }

            var (host, port) = ListenAddress.Parse(listen);
            // Windows big enough for a 600 KB tensor in one go, rather than a round trip per 96 KB (Kestrel's default).
            kestrel.Limits.Http2.InitialConnectionWindowSize = Math.Max(kestrel.Limits.Http2.InitialConnectionWindowSize, 4 << 20);
            kestrel.Limits.Http2.InitialStreamWindowSize = Math.Max(kestrel.Limits.Http2.InitialStreamWindowSize, 1 << 20);
            // The certificate files are loaded here, when Kestrel is configured: a bad file fails the start.
            var https = o.Value.GrpcTls?.CreateHttpsOptions();
            void Http2(ListenOptions options)
            {
                options.Protocols = HttpProtocols.Http2;
                if (https is not null)
                {
                    options.UseHttps(https);
                }

                listener.Set(options, https is not null);
            }

            if (host is null)
            {
                kestrel.ListenLocalhost(port, Http2);
            }
            else
            {
                kestrel.Listen(host, port, Http2);
            }
        });
        return builder;
    }

    /// <summary>
    /// Maps the OIP REST endpoints (<c>GET /v2</c>; <c>GET /v2/models/{name}[/versions/{v}]</c> and
    /// <c>.../ready</c>; <c>POST .../infer</c>) and the gRPC service. <c>/v2/health/live</c> and
    /// <c>/v2/health/ready</c> are the host's own health endpoints, mapped by <c>MapGraphPipe()</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapOpenInference(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var rest = endpoints.ServiceProvider.GetService<RestEndpoint>()
            ?? throw new InvalidOperationException("MapOpenInference needs AddOpenInference() on the serving builder first.");
        endpoints.MapMethods("/v2", [HttpMethods.Get, HttpMethods.Head], rest.ServerMetadataAsync);
        foreach (var prefix in (string[])["/v2/models/{model}", "/v2/models/{model}/versions/{version}"])
        {
            endpoints.MapMethods(prefix, [HttpMethods.Get, HttpMethods.Head], context => rest.ModelMetadataAsync(context, Model(context), Version(context)));
            endpoints.MapMethods(prefix + "/ready", [HttpMethods.Get, HttpMethods.Head], context => rest.ModelReadyAsync(context, Model(context), Version(context)));
            endpoints.MapPost(prefix + "/infer", context => rest.InferAsync(context, Model(context), Version(context)));
        }

        endpoints.MapGrpcService<GrpcInferenceEndpoint>();
        return endpoints;
    }

    /// <summary>The gRPC address once the host has started (port 0 resolved), or null without gRPC.</summary>
    public static Uri? GetOpenInferenceGrpcAddress(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetService<GrpcListener>()?.Address;
    }

    private static string Model(HttpContext context) => (string)context.Request.RouteValues["model"]!;

    private static string? Version(HttpContext context) => context.Request.RouteValues["version"] as string;

    private sealed class OpenInferenceEndpoints : IProtocolEndpoints
    {
        public void Map(IEndpointRouteBuilder endpoints) => endpoints.MapOpenInference();
    }
}
