using System.Net;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace GraphPipe.Server;

public static class GraphPipeServerExtensions
{
    /// <summary>Registers the GraphPipe front door. Register the <see cref="IInferenceStage"/> to serve separately.</summary>
    public static IServiceCollection AddGraphPipeServer(this IServiceCollection services, Action<GraphPipeServerOptions>? configure = null)
    {
        var builder = services.AddOptions<GraphPipeServerOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.Validate(o => { o.Validate(); return true; });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GraphPipeFrontDoor>();
        return services;
    }

    /// <summary>
    /// Maps the GraphPipe front door on every path (POST: inference or metadata; GET: metadata JSON),
    /// plus <c>/control/is_alive</c> and <c>/control/is_ready</c> (503 once shutdown begins, so load
    /// balancers drain the replica while in-flight requests finish).
    /// </summary>
    public static IEndpointRouteBuilder MapGraphPipe(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var frontDoor = services.GetRequiredService<GraphPipeFrontDoor>();
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GraphPipeServerOptions>>().Value;

        endpoints.MapGet("/control/is_alive", static () => Results.Text("ok"));
        endpoints.MapGet("/control/is_ready", () => lifetime.ApplicationStopping.IsCancellationRequested
            ? Results.Text("stopping", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok"));
        if (options.EnableShutdownEndpoint)
        {
            endpoints.MapPost("/control/shutdown", () =>
            {
                lifetime.StopApplication();
                return Results.Text("shutting down");
            });
        }

        endpoints.MapFallback(frontDoor.HandleAsync);
        return endpoints;
    }

    /// <summary>Listens on <c>HOST:PORT</c> (e.g. <c>127.0.0.1:9000</c>, <c>0.0.0.0:9000</c>, <c>[::1]:9000</c>, <c>localhost:0</c>) and applies the body size limit to Kestrel.</summary>
    public static IWebHostBuilder UseGraphPipeListen(this IWebHostBuilder builder, string listen, long maxRequestBytes)
    {
        var endpoint = ParseListen(listen);
        return builder.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = maxRequestBytes;
            kestrel.AddServerHeader = false;
            if (endpoint.Host is null)
            {
                kestrel.ListenLocalhost(endpoint.Port);
            }
            else
            {
                kestrel.Listen(endpoint.Host, endpoint.Port);
            }
        });
    }

    /// <summary>Parses <c>HOST:PORT</c>; host <c>localhost</c> gives a null address (both loopbacks).</summary>
    public static (IPAddress? Host, int Port) ParseListen(string listen)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(listen);
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            throw new FormatException($"listen address '{listen}' is not HOST:PORT (e.g. 127.0.0.1:9000)");
        }

        var host = listen[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return (null, port);
        }

        if (host is "*" or "+")
        {
            return (IPAddress.Any, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? (address, port)
            : throw new FormatException($"listen host '{host}' is not an IP address or localhost");
    }
}
