using System.CommandLine;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.Cli;

/// <summary>Options of stages that can pass their output on: <c>--next</c> (server sequencing) and the policy for next-stage URLs named in a request's config (hybrid sequencing).</summary>
internal sealed class ForwardingSettings
{
    public readonly Option<string[]> Next = new("--next")
    {
        Description = "Next stage URL: forward outputs there and return its answer (server sequencing). Several replicas: repeat it, separate with commas, or dns:///name:port [env: GP_NEXT]",
        DefaultValueFactory = _ => CliOptions.SplitList(Environment.GetEnvironmentVariable("GP_NEXT")),
    };

    public readonly BalancingSettings Balancing = new();
    public readonly Option<bool> AllowPrivateNetworks = CliOptions.Env("--allow-private-networks", "GP_ALLOW_PRIVATE_NETWORKS", "Allow loopback/private/link-local targets in client-supplied URLs (local setups, tests)", false);
    public readonly Option<string?> AllowHosts = CliOptions.EnvString("--allow-host", "GP_ALLOW_HOSTS", "Comma-separated hosts always allowed as targets (e.g. in-cluster service names)", null);
    public readonly Option<bool> NoConfigNext = CliOptions.Env("--no-config-next", "GP_NO_CONFIG_NEXT", "Ignore next-stage URLs in request config (disable hybrid sequencing)", false);
    public readonly OutboundSettings NextAuth = new("next-", "GP_NEXT_", "the --next stage");

    public void AddTo(Command command)
    {
        command.Add(Next);
        command.Add(AllowPrivateNetworks);
        command.Add(AllowHosts);
        command.Add(NoConfigNext);
        Balancing.AddTo(command);
        NextAuth.AddTo(command);
    }

    /// <summary>The <c>--next</c> replicas as one list, or null when none is given.</summary>
    public string? NextSpec(ParseResult parse) => parse.GetValue(Next) is { Length: > 0 } list ? string.Join(',', list) : null;

    public NetworkPolicy Policy(ParseResult parse) => new()
    {
        AllowPrivateNetworks = parse.GetValue(AllowPrivateNetworks),
        AllowedHosts = new HashSet<string>(CliOptions.SplitList(parse.GetValue(AllowHosts)), StringComparer.OrdinalIgnoreCase),
    };

    /// <summary>Adds only <c>--next</c>, its balancing and its TLS/key options: for stages that pass their outputs on to an operator-named next stage but never to one a request names.</summary>
    public void AddNextOnlyTo(Command command)
    {
        command.Add(Next);
        Balancing.AddTo(command);
        NextAuth.AddTo(command);
    }

    /// <summary>Adds <paramref name="stage"/> forwarding to <c>--next</c> only (see <see cref="AddNextOnlyTo"/>).</summary>
    public void AddNextOnlyStage(GraphPipeServingBuilder serving, ParseResult parse, string name, Func<IServiceProvider, IInferenceStage> stage, bool isDefault)
    {
        var balancing = Balancing.Options(parse);
        var tls = NextAuth.Tls(parse);
        NextAuth.CreateHandler(parse, new SocketsHttpHandler()).Dispose();
        serving.AddForwardingStage(GraphPipeStageHost.SafeName(name), stage, new ForwardingOptions
        {
            NextEndpoints = BalancingSettings.Normalize("--next", NextSpec(parse)!, balancing),
            Balancing = balancing,
            AllowNextFromConfig = false,
            NextTls = tls,
            NextApiKey = NextAuth.ApiKey(parse),
        }, isDefault);
    }

    /// <summary>Adds <paramref name="stage"/> to the host, forwarding per these settings (outgoing clients from the host's IHttpClientFactory).</summary>
    public void AddStage(GraphPipeServingBuilder serving, ParseResult parse, string name, Func<IServiceProvider, IInferenceStage> stage)
    {
        var balancing = Balancing.Options(parse);
        var next = NextSpec(parse) is { } spec ? BalancingSettings.Normalize("--next", spec, balancing) : null;
        var tls = NextAuth.Tls(parse);
        // Load the files once now, so a bad one fails at start rather than on the first forwarded request.
        NextAuth.CreateHandler(parse, new SocketsHttpHandler()).Dispose();

        serving.AddForwardingStage(GraphPipeStageHost.SafeName(name), stage, new ForwardingOptions
        {
            NextEndpoints = next,
            Balancing = balancing,
            AllowNextFromConfig = !parse.GetValue(NoConfigNext),
            ConfigPolicy = Policy(parse),
            NextTls = tls,
            NextApiKey = NextAuth.ApiKey(parse),
        });
    }
}
