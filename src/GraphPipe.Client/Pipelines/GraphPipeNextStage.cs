using GraphPipe.Client;
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

    public string Target { get; }

    public Uri Endpoint => _client.Endpoint;

    /// <summary>Asks the next stage for its metadata (a readiness probe); throws <see cref="GraphPipeException"/> when it does not answer.</summary>
    public Task<StageMetadata> GetMetadataAsync(CancellationToken cancellationToken) => _client.GetMetadataAsync(cancellationToken);

    public async ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.InferAsync(new InferRequest { Config = config, Inputs = inputs, OutputNames = outputNames }, cancellationToken).ConfigureAwait(false);
            return StageResult.Success(response.Outputs);
        }
        catch (GraphPipeException ex)
        {
            var kind = ex.IsTimeout ? StageErrorKind.Timeout : StageErrorKind.Upstream;
            var status = ex.StatusCode is { } code ? $"{(int)code}" : "no response";
            // A client-named next stage could answer anything: what it says is passed on bounded.
            var remote = ex.RemoteMessage is { Length: > MaxRemoteMessageChars } text ? string.Concat(text.AsSpan(0, MaxRemoteMessageChars), $"... ({text.Length} chars)") : ex.RemoteMessage;
            return StageResult.Failure(kind, $"next stage {Echo.Name(_client.Endpoint.ToString())} failed ({status}): {remote}");
        }
    }
}
