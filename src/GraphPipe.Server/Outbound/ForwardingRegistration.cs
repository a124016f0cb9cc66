using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Pipelines;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Server;

/// <summary>Serving stages that pass their outputs on (server and hybrid sequencing), with their outgoing clients from <see cref="IHttpClientFactory"/>.</summary>
public static class ForwardingRegistration
{
    /// <summary>The named client for the operator's next stage (trusted: any address), suffixed <c>:STAGE</c> per stage (balanced over its replicas; its TLS settings and API key).</summary>
    public const string NextClientName = "graphpipe-next";

    /// <summary>The name of <paramref name="stageName"/>'s client for its configured next stage (its TLS settings and API key).</summary>
    public static string NextClientNameFor(string stageName) => $"{NextClientName}:{stageName}";

    /// <summary>
    /// Serves <paramref name="inner"/> under <paramref name="name"/>, forwarding per <paramref name="options"/>:
    /// to <see cref="ForwardingOptions.Next"/> over HTTP, to the co-located stage <see cref="ForwardingOptions.LocalNext"/>
    /// in-process, or to a next stage the request names (checked against <see cref="ForwardingOptions.ConfigPolicy"/>,
    /// also at connect time). The host owns the stage the factory builds.
    /// </summary>
    public static GraphPipeServingBuilder AddForwardingStage(this GraphPipeServingBuilder builder, string name, Func<IServiceProvider, IInferenceStage> inner, ForwardingOptions options, bool isDefault = false)
        => Add(builder, name, inner, options, isDefault, ownedByHost: true);

    /// <summary>Like the factory overload, for a stage the caller owns (and disposes after the host has stopped).</summary>
    public static GraphPipeServingBuilder AddForwardingStage(this GraphPipeServingBuilder builder, string name, IInferenceStage inner, ForwardingOptions options, bool isDefault = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        return Add(builder, name, _ => inner, options, isDefault, ownedByHost: false);
    }

    private static ILogger? BalancingLogger(IServiceProvider services) => services.GetService<ILoggerFactory>()?.CreateLogger("GraphPipe.Client.Balancing");

    private static GraphPipeServingBuilder Add(GraphPipeServingBuilder builder, string name, Func<IServiceProvider, IInferenceStage> inner, ForwardingOptions options, bool isDefault, bool ownedByHost)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        var configClientName = $"graphpipe-config-next:{name}";
        var nextClientName = NextClientNameFor(name);
        var nextSpec = options.NextEndpoints ?? options.Next?.ToString();
        EndpointGroup? group = null;
        if (nextSpec is not null && options.LocalNext is null)
        {
            // Parsed now so a bad list fails the start; the host disposes it (its DNS timer) on stop.
            group = EndpointGroup.Parse(nextSpec, options.Balancing);
            builder.Services.AddKeyedSingleton(nextClientName, (_, _) => group);
            // The operator's next stage is trusted (environment proxies apply); one client serves every requester, so no cookie jar.
            // Its TLS files (CA, client certificate) are read again whenever the factory renews the handler.
            var next = builder.Services.AddHttpClient(nextClientName, static http => http.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(() => options.NextTls.Apply(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), UseCookies = false }));
            if (options.NextApiKey is { } apiKey)
            {
                ApiKeys.Check(apiKey);
                next.AddHttpMessageHandler(() => new BearerTokenHandler(apiKey));
            }

            if (options.Balancing.Retry && options.Balancing.MaxRetries > 0)
            {
                next.AddHttpMessageHandler(() => BalancingRetry.CreateHandler(options.Balancing)!);
            }

            next.AddHttpMessageHandler(services => new BalancingHandler([group], logger: BalancingLogger(services)));
        }

        // A next stage named in a request: policy-checked at connect time, no proxy, no cookies (PolicyCheckedHandler); never the key.
        builder.Services.AddHttpClient(configClientName, static http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => options.ConfigPolicy.CreateHandler());

        // A next hop named in a request with several replicas (a|b, dns:///): the same transport, balanced and
        // retried like --next; the groups (their passive health) live as long as the host.
        var configBalancedName = $"graphpipe-config-next-balanced:{name}";
        if (options.AllowNextFromConfig)
        {
            builder.Services.AddKeyedSingleton(configBalancedName, (_, _) => new NextHopGroups(options.Balancing));
            var balanced = builder.Services.AddHttpClient(configBalancedName, static http => http.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(() => options.ConfigPolicy.CreateHandler());
            if (options.Balancing.Retry && options.Balancing.MaxRetries > 0)
            {
                balanced.AddHttpMessageHandler(() => BalancingRetry.CreateHandler(options.Balancing)!);
            }

            balanced.AddHttpMessageHandler(services => new BalancingHandler([], logger: BalancingLogger(services)));
        }

        IInferenceStage Serve(IServiceProvider services, Func<string, IInferenceStage?> findStage, IInferenceStage stage)
        {
            var clients = services.GetRequiredService<IHttpClientFactory>();
            INextStage? next = null;
            if (options.LocalNext is { } local)
            {
                var target = findStage(local)
                    ?? throw new InvalidOperationException($"stage '{name}': its next stage '{local}' is not a stage of this host (add it before '{name}')");
                next = new InProcessNextStage(local, target);
            }
            else if (group is not null)
            {
                _ = services.GetRequiredKeyedService<EndpointGroup>(nextClientName);
                next = new GraphPipeNextStage(clients.CreateClient(nextClientName), group.Address);
            }

            var fromConfig = options.AllowNextFromConfig
                ? new GraphPipeNextStageResolver(clients.CreateClient(configClientName), options.ConfigPolicy, clients.CreateClient(configBalancedName), services.GetRequiredKeyedService<NextHopGroups>(configBalancedName))
                : null;
            return new StagePipelineBuilder(stage).AddForwarding(next, fromConfig).Build();
        }

        return builder.Add(new StageRegistration(name, (services, findStage) => Serve(services, findStage, inner(services)), isDefault, ownedByHost) { ServeLike = Serve });
    }
}
