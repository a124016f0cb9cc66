using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>A next stage reached over GraphPipe HTTP; errors it answers become results that name it.</summary>
public sealed class GraphPipeNextStage : INextStage
{
    private const int MaxRemoteMessageChars = 1000;
    private readonly GraphPipeClient _client;

    /// <param name="httpClient">The transport (from IHttpClientFactory); not disposed here.</param>
    public GraphPipeNextStage(HttpClient httpClient, Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _client = new GraphPipeClient(httpClient, endpoint);
        Target = endpoint.Authority;
    }

    /// <param name="httpClient">A client whose handlers include <see cref="BalancingHandler"/> (and <see cref="BalancingRetry"/>); not disposed here.</param>
    /// <param name="replicas">The next stage's replicas: each call goes to one of them.</param>
    public GraphPipeNextStage(HttpClient httpClient, EndpointGroup replicas)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        _client = new GraphPipeClient(httpClient, replicas.Address, null, replicas);
        Target = replicas.Address.Authority;
    }

    public string Target { get; }

    public Uri Endpoint => _client.Endpoint;

    /// <summary>Asks the next stage for its metadata (a readiness probe); throws <see cref="GraphPipeException"/> when it does not answer.</summary>
    public Task<StageMetadata> GetMetadataAsync(CancellationToken cancellationToken) => _client.GetMetadataAsync(cancellationToken);

    /// <summary>The most kept back from the budget passed on, for the next stage's answer to travel back.</summary>
    public static readonly TimeSpan MaxReserve = TimeSpan.FromMilliseconds(250);

    public ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, CancellationToken cancellationToken)
        => SendAsync(inputs, outputNames, config, StageDeadline.None, cancellationToken);

    /// <summary>
    /// Sends the next stage the time left minus a reserve (a fifth, at most <see cref="MaxReserve"/>) in
    /// <c>GraphPipe-Timeout</c>, so that a stage that runs out answers before this hop's own deadline
    /// passes and the 504 names it.
    /// </summary>
    public async ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, StageDeadline deadline, CancellationToken cancellationToken)
    {
        try
        {
            TimeSpan? budget = null;
            if (deadline.IsSet)
            {
                var remaining = deadline.Remaining;
                budget = remaining - TimeSpan.FromTicks(Math.Min(remaining.Ticks / 5, MaxReserve.Ticks));
            }

            var response = await _client.InferAsync(new InferRequest { Config = config, Inputs = inputs, OutputNames = outputNames }, budget, cancellationToken).ConfigureAwait(false);
            return StageResult.Success(response.Outputs);
        }
        catch (GraphPipeException ex)
        {
            // A next stage that ran out of time (504) is a timeout here too: the caller learns who ran out.
            var kind = ex.IsTimeout || ex.StatusCode == System.Net.HttpStatusCode.GatewayTimeout ? StageErrorKind.Timeout : StageErrorKind.Upstream;
            var status = ex.StatusCode is { } code ? $"{(int)code}" : "no response";
            // A client-named next stage could answer anything: what it says is passed on bounded.
            var remote = ex.RemoteMessage is { Length: > MaxRemoteMessageChars } text ? string.Concat(text.AsSpan(0, MaxRemoteMessageChars), $"... ({text.Length} chars)") : ex.RemoteMessage;
            return StageResult.Failure(kind, $"next stage {Echo.Name(_client.Endpoint.ToString())} failed ({status}): {remote}");
        }
    }
}
