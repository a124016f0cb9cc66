using System.Net;
using System.Net.Http.Headers;
using System.Text;
using GraphPipe.Client.Balancing;
using GraphPipe.Wire;

namespace GraphPipe.Client;

/// <summary>
/// Calls a GraphPipe endpoint. Thread-safe; wraps an <see cref="HttpClient"/> it does not own (create it
/// with <c>IHttpClientFactory</c> or share one per process).
/// </summary>
public sealed class GraphPipeClient
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private const int MaxErrorBodyChars = 4096;

    private readonly HttpClient _http;
    private readonly GraphPipeClientOptions _options;
    private readonly string? _authorization;
    private readonly EndpointGroup? _replicas;

    /// <param name="httpClient">The transport; not disposed by this client.</param>
    /// <param name="endpoint">The stage URL (GraphPipe servers answer on any path); defaults to <see cref="HttpClient.BaseAddress"/>.</param>
    public GraphPipeClient(HttpClient httpClient, Uri? endpoint = null, GraphPipeClientOptions? options = null)
    {
        _http = httpClient ?? throw new ArgumentNullException(nameof(httpClient));
        Endpoint = endpoint ?? httpClient.BaseAddress ?? throw new ArgumentException("Give an endpoint or set HttpClient.BaseAddress.", nameof(endpoint));
        _options = options ?? new GraphPipeClientOptions();
        _authorization = _options.ApiKey is { } key ? ApiKeys.AuthorizationValue(key) : null;
    }

    /// <summary>A client whose every call is balanced over <paramref name="replicas"/> by the <see cref="BalancingHandler"/> of <paramref name="httpClient"/> (groups it was not built with).</summary>
    internal GraphPipeClient(HttpClient httpClient, Uri endpoint, GraphPipeClientOptions? options, EndpointGroup replicas)
        : this(httpClient, endpoint, options)
    {
        _replicas = replicas;
    }

    public Uri Endpoint { get; }

    /// <summary>A client for another endpoint sharing this one's transport and options.</summary>
    public GraphPipeClient WithEndpoint(Uri endpoint) => new(_http, endpoint, _options);

    /// <summary>Asks the stage for its metadata (a MetadataRequest POST).</summary>
    public async Task<StageMetadata> GetMetadataAsync(CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(static w => w.WriteMetadataRequest(), null, cancellationToken).ConfigureAwait(false);
        return Parse(body, GraphPipeReader.ReadMetadataResponse, "metadata response");
    }

    /// <summary>Runs inference. Throws <see cref="GraphPipeException"/> for any error the server reports.</summary>
    public Task<InferResponse> InferAsync(InferRequest request, CancellationToken cancellationToken = default)
        => InferAsync(request, _options.Deadline, cancellationToken);

    /// <summary>
    /// Runs inference within <paramref name="deadline"/>, the budget sent as <c>GraphPipe-Timeout</c> for
    /// this call (null sends none). Throws <see cref="GraphPipeException"/> for any error the server reports.
    /// </summary>
    public async Task<InferResponse> InferAsync(InferRequest request, TimeSpan? deadline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = await SendAsync(w => w.WriteInferRequest(request), deadline, cancellationToken).ConfigureAwait(false);
        var response = Parse(body, GraphPipeReader.ReadInferResponse, "infer response");
        if (response.Errors.Count > 0)
        {
            var message = string.Join("; ", response.Errors.Select(e => e.Message));
            throw new GraphPipeException($"{Endpoint} reported: {message}", Endpoint, HttpStatusCode.OK, message);
        }

        return response;
    }

    /// <summary>Runs inference on named inputs and returns the outputs in the order asked (defaults when <paramref name="outputNames"/> is empty).</summary>
    public async Task<IReadOnlyList<Tensor>> InferAsync(IReadOnlyList<KeyValuePair<string, Tensor>> inputs, IReadOnlyList<string>? outputNames = null, string config = "", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var response = await InferAsync(new InferRequest
        {
            Config = config,
            InputNames = inputs.Select(p => p.Key).ToArray(),
            Inputs = inputs.Select(p => p.Value).ToArray(),
            OutputNames = outputNames ?? [],
        }, cancellationToken).ConfigureAwait(false);
        return response.Outputs;
    }

    /// <summary>Sends one tensor to the default input and returns the first default output.</summary>
    public async Task<Tensor> InferAsync(Tensor input, string config = "", CancellationToken cancellationToken = default)
    {
        var response = await InferAsync(new InferRequest { Config = config, Inputs = [input] }, cancellationToken).ConfigureAwait(false);
        return response.Outputs.Count > 0
            ? response.Outputs[0]
            : throw new GraphPipeException($"{Endpoint} returned no output tensors.", Endpoint, HttpStatusCode.OK, "no outputs");
    }

    /// <summary>Sends a float32 tensor to the default input and returns the first output as floats.</summary>
    public async Task<float[]> InferFloatsAsync(float[] values, long[] shape, string config = "", CancellationToken cancellationToken = default)
    {
        var output = await InferAsync(Tensor.Create<float>(values, shape), config, cancellationToken).ConfigureAwait(false);
        return output.ToArray<float>();
    }

    /// <summary>Sends byte strings (e.g. encoded images, URLs) as a 1-D string tensor to the default input.</summary>
    public Task<Tensor> InferBytesAsync(IReadOnlyList<ReadOnlyMemory<byte>> values, string config = "", CancellationToken cancellationToken = default)
        => InferAsync(Tensor.FromStrings(values), config, cancellationToken);

    private async Task<byte[]> SendAsync(Func<GraphPipeWriter, ReadOnlyMemory<byte>> write, TimeSpan? deadline, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.Timeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(_options.Timeout);
        }

        var writer = GraphPipeWriter.Rent();
        try
        {
            var payload = write(writer);
            using var content = new ReadOnlyMemoryContent(payload);
            content.Headers.ContentType = OctetStream;
            using var message = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = content };
            if (_replicas is not null)
            {
                BalancingHandler.UseGroup(message, _replicas);
            }

            if (_authorization is not null)
            {
                message.Headers.TryAddWithoutValidation("Authorization", _authorization);
            }

            if (deadline is { } budget)
            {
                // Kept on the message: a retry on another replica sends what is left then (RequestBudget.Refresh).
                RequestBudget.Set(message, budget, _options.TimeProvider);
            }

            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var text = await ReadErrorBodyAsync(response, timeout.Token).ConfigureAwait(false);
                // Behind a balancing handler the message went to one replica: name that one.
                var target = message.RequestUri ?? Endpoint;
                throw new GraphPipeException($"{target} failed with {(int)response.StatusCode} {response.StatusCode}: {text}", Endpoint, response.StatusCode, text);
            }

            return await ReadBodyAsync(response, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var text = $"no answer within {_options.Timeout.TotalSeconds:0.###} s";
            throw new GraphPipeException($"{Endpoint} timed out: {text}", Endpoint, null, text, new TimeoutException(text, ex));
        }
        catch (HttpRequestException ex)
        {
            throw new GraphPipeException($"{Endpoint} could not be reached: {ex.Message}", Endpoint, null, ex.Message, ex);
        }
        finally
        {
            // The request content views the writer's buffer: only recycle it once the exchange is over.
            GraphPipeWriter.Return(writer);
        }
    }

    private async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var length = response.Content.Headers.ContentLength;
        if (length > _options.MaxResponseBytes)
        {
            throw TooLarge(length.Value);
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        if (length is { } exact)
        {
            var buffer = new byte[exact];
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer;
        }

        using var copy = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (copy.Length + read > _options.MaxResponseBytes)
            {
                throw TooLarge(copy.Length + read);
            }

            copy.Write(chunk, 0, read);
        }

        return copy.ToArray();
    }

    private GraphPipeException TooLarge(long size)
    {
        var text = $"response of {size} bytes exceeds the client's limit of {_options.MaxResponseBytes} bytes";
        return new GraphPipeException($"{Endpoint}: {text}", Endpoint, HttpStatusCode.OK, text);
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, MaxErrorBodyChars)).Trim();
        return text.Length == 0 ? response.ReasonPhrase ?? "no message" : text;
    }

    private T Parse<T>(byte[] body, Func<ReadOnlyMemory<byte>, T> parse, string what)
    {
        try
        {
            return parse(body);
        }
        catch (GraphPipeFormatException ex)
        {
            throw new GraphPipeException($"{Endpoint} sent an invalid {what}: {ex.Message}", Endpoint, HttpStatusCode.OK, ex.Message, ex);
        }
    }
}
