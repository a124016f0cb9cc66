using System.CommandLine;
using GraphPipe.Client.Balancing;

namespace GraphPipe.Cli;

/// <summary>
/// The options every client command binds the same way (<c>metadata</c>, <c>infer</c>, <c>bench</c>): the
/// stage's replicas (one URL, a list separated by commas, or <c>dns:///name:port</c>), the TLS flags and API key
/// of <see cref="OutboundSettings"/> (<c>--ca</c>, <c>--client-cert</c>, <c>--client-key</c>, <c>--api-key-file</c>,
/// as <c>probe</c> has) and the balancing flags of <see cref="BalancingSettings"/> (<c>--no-retry</c>, ...).
/// One instance per command.
/// </summary>
internal sealed class ClientConnection
{
    public OutboundSettings Auth { get; } = new(string.Empty, "GP_", "the stage");

    public BalancingSettings Balancing { get; } = new();

    public void AddTo(Command command)
    {
        Auth.AddTo(command);
        Balancing.AddTo(command);
    }

    /// <summary>Parses <paramref name="spec"/> (a usage error naming <paramref name="argument"/>) and builds the balanced client over its replicas.</summary>
    /// <param name="maxConnectionsPerServer">Connections per replica (the load generator's concurrency); null: unlimited.</param>
    public Connected Open(ParseResult parse, string argument, string spec, int? maxConnectionsPerServer = null)
    {
        var replicas = BalancingSettings.Parse(argument, spec, Balancing.Options(parse));
        try
        {
            var transport = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                MaxConnectionsPerServer = maxConnectionsPerServer ?? int.MaxValue,
            };
            var http = new HttpClient(GraphPipeBalancing.CreateHandler([replicas], Auth.CreateHandler(parse, transport))) { Timeout = Timeout.InfiniteTimeSpan };
            return new Connected(replicas, http, Auth.ApiKey(parse));
        }
        catch
        {
            replicas.Dispose();
            throw;
        }
    }
}

/// <summary>A client command's replicas and the client that balances over them; the API key to send, if any.</summary>
internal sealed class Connected(EndpointGroup replicas, HttpClient http, string? apiKey) : IDisposable
{
    public EndpointGroup Replicas { get; } = replicas;

    public HttpClient Http { get; } = http;

    public string? ApiKey { get; } = apiKey;

    /// <summary>How requests name the stage (its first replica); the balancing handler picks one per call.</summary>
    public Uri Endpoint => Replicas.Address;

    public void Dispose()
    {
        Http.Dispose();
        Replicas.Dispose();
    }
}
