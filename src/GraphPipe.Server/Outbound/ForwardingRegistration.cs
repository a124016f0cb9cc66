using GraphPipe.Client;
using GraphPipe.Pipelines;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;

namespace GraphPipe.Server;

/// <summary>Serving stages that pass their outputs on (server and hybrid sequencing), with their outgoing clients from <see cref="IHttpClientFactory"/>.</summary>
public static class ForwardingRegistration
{
    /// <summary>The named client for the operator's next stage (trusted: any address).</summary>
    public const string NextClientName = "graphpipe-next";

    /// <summary>
    /// Serves <paramref name="inner"/> under <paramref name="name"/>, forwarding per <paramref name="options"/>:
    /// to <see cref="ForwardingOptions.Next"/> over HTTP, to the co-located stage <paramref name="localNext"/>
    /// of this host in-process, or to a next stage the request names (checked against
    /// <see cref="ForwardingOptions.ConfigPolicy"/> at connect time).
    /// </summary>
    public static GraphPipeServingBuilder AddForwardingStage(this GraphPipeServingBuilder builder, string name, Func<IServiceProvider, IInferenceStage> inner, ForwardingOptions options, string? localNext = null, bool isDefault = false)
        => Add(builder, name, inner, options, localNext, isDefault, ownedByHost: true);

    /// <summary>Like the factory overload, for a stage the caller owns (and disposes after the host has stopped).</summary>
    public static GraphPipeServingBuilder AddForwardingStage(this GraphPipeServingBuilder builder, string name, IInferenceStage inner, ForwardingOptions options, string? localNext = null, bool isDefault = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return Add(builder, name, _ => inner, options, localNext, isDefault, ownedByHost: false);
    }

    private static GraphPipeServingBuilder Add(GraphPipeServingBuilder builder, string name, Func<IServiceProvider, IInferenceStage> inner, ForwardingOptions options, string? localNext, bool isDefault, bool ownedByHost)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var configClientName = $"graphpipe-config-next:{name}";
        builder.Services.AddHttpClient(NextClientName, static http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(static () => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        builder.Services.AddHttpClient(configClientName, static http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => options.ConfigPolicy.CreateHandler());
        return builder.Add(new StageRegistration(name, (services, findStage) =>
        {
            var clients = services.GetRequiredService<IHttpClientFactory>();
            var placeholder = options.Next ?? new Uri("http://127.0.0.1/");
            var resolved = options;
            if (localNext is not null)
            {
                var target = findStage(localNext)
                    ?? throw new InvalidOperationException($"stage '{name}': its next stage '{localNext}' is not a stage of this host (add it before '{name}')");
                resolved = new ForwardingOptions { Next = null, AllowNextFromConfig = options.AllowNextFromConfig, ConfigPolicy = options.ConfigPolicy, LocalNext = target };
            }

            return new ForwardingStage(inner(services),
                new GraphPipeClient(clients.CreateClient(NextClientName), placeholder),
                new GraphPipeClient(clients.CreateClient(configClientName), placeholder),
                resolved);
        }, isDefault, ownedByHost));
    }
}
