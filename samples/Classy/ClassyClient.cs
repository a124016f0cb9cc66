using System.Diagnostics;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;

namespace Classy;

/// <summary>How the stages are chained (see docs/classy.md).</summary>
public enum Sequencing
{
    /// <summary>The client calls each stage in turn and carries the tensors between them.</summary>
    Client,
    /// <summary>The client calls the first stage; each stage is configured with the next and calls it.</summary>
    Server,
    /// <summary>The client calls the first stage with the next stage's URL in the request config.</summary>
    Hybrid,
}

/// <summary>Where the Classy stages listen. The chained stages are configured with <c>--next</c> (server sequencing).</summary>
public sealed record ClassyEndpoints(
    Uri Model,
    Uri Preprocessor,
    Uri Downloader,
    Uri ChainedPreprocessor,
    Uri ChainedDownloader)
{
    /// <summary>The ports <c>deploy/run-local.sh</c> uses.</summary>
    public static ClassyEndpoints Local(string host = "127.0.0.1") => new(
        new Uri($"http://{host}:9000/"), new Uri($"http://{host}:9001/"), new Uri($"http://{host}:9002/"),
        new Uri($"http://{host}:9011/"), new Uri($"http://{host}:9012/"));
}

/// <summary>One image's result: its top class and the top-k list, or why it failed.</summary>
public sealed record Classification(string Image, string? Label, float Score, IReadOnlyList<LabelScore> TopK, string? Error)
{
    public bool Succeeded => Error is null;
}

public sealed record LabelScore(string Label, float Score);

/// <summary>Traffic and time of one classification run, as seen by the client.</summary>
public sealed record ClassyStats(int Images, TimeSpan Elapsed, long BytesSent, long BytesReceived, int Calls);

/// <summary>
/// Classifies images (local files or URLs) through the Classy stages: downloader -> preprocessor ->
/// model (with <c>--labels</c>, so it answers <c>top_labels</c>/<c>top_scores</c>).
/// </summary>
public sealed class ClassyClient : IDisposable
{
    private static readonly string[] LabelOutputs = ["top_labels", "top_scores"];
    private readonly HttpClient _http;
    private readonly GraphPipeClient _client;
    private readonly ClassyEndpoints _endpoints;
    private long _sent;
    private long _received;
    private int _calls;

    /// <param name="endpoints">Where the stages are.</param>
    /// <param name="handler">Transport (default: a pooled <see cref="SocketsHttpHandler"/>); the client disposes it.</param>
    /// <param name="timeout">Time allowed per call (default 120 s).</param>
    /// <param name="replicas">Stages with several replicas: calls to a group's address are balanced over its replicas, with retries (docs/load-balancing.md).</param>
    public ClassyClient(ClassyEndpoints endpoints, HttpMessageHandler? handler = null, TimeSpan? timeout = null, IReadOnlyList<EndpointGroup>? replicas = null)
    {
        _endpoints = endpoints ?? throw new ArgumentNullException(nameof(endpoints));
        handler ??= new SocketsHttpHandler();
        if (replicas is { Count: > 0 })
        {
            handler = GraphPipeBalancing.CreateHandler(replicas, handler);
        }

        _http = new HttpClient(new CountingHandler(this) { InnerHandler = handler })
        {
            Timeout = timeout ?? TimeSpan.FromSeconds(120),
        };
        _client = new GraphPipeClient(_http, endpoints.Model);
    }

    /// <summary>Images per call. Default 8.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>
    /// Classifies local files and/or http(s) URLs. A batch that fails is retried image by image so
    /// every failure is reported against the image that caused it.
    /// </summary>
    public async Task<(IReadOnlyList<Classification> Results, ClassyStats Stats)> ClassifyAsync(IReadOnlyList<string> images, Sequencing mode, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        var (sent0, received0, calls0) = (Interlocked.Read(ref _sent), Interlocked.Read(ref _received), _calls);
        var stopwatch = Stopwatch.StartNew();
        var results = new Classification[images.Count];
        var urls = images.Select((image, i) => (image, i)).Where(p => IsUrl(p.image)).ToArray();
        var files = images.Select((image, i) => (image, i)).Where(p => !IsUrl(p.image)).ToArray();
        var done = 0;
        foreach (var group in new[] { files, urls })
        {
            foreach (var batch in group.Chunk(BatchSize))
            {
                var names = batch.Select(b => b.image).ToArray();
                var batchResults = await ClassifyBatchWithFallbackAsync(names, mode, cancellationToken).ConfigureAwait(false);
                for (var j = 0; j < batch.Length; j++)
                {
                    results[batch[j].i] = batchResults[j];
                }

                done += batch.Length;
                progress?.Report(done);
            }
        }

        var stats = new ClassyStats(images.Count, stopwatch.Elapsed, Interlocked.Read(ref _sent) - sent0, Interlocked.Read(ref _received) - received0, _calls - calls0);
        return (results, stats);
    }

    private async Task<Classification[]> ClassifyBatchWithFallbackAsync(string[] images, Sequencing mode, CancellationToken cancellationToken)
    {
        try
        {
            return await ClassifyBatchAsync(images, mode, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is GraphPipeException or IOException or UnauthorizedAccessException)
        {
            if (images.Length == 1)
            {
                return [Failed(images[0], ex)];
            }

            var results = new Classification[images.Length];
            for (var i = 0; i < images.Length; i++)
            {
                results[i] = (await ClassifyBatchWithFallbackAsync([images[i]], mode, cancellationToken).ConfigureAwait(false))[0];
            }

            return results;
        }
    }

    private async Task<Classification[]> ClassifyBatchAsync(string[] images, Sequencing mode, CancellationToken cancellationToken)
    {
        var fromUrls = IsUrl(images[0]);
        var payload = fromUrls
            ? images.Select(u => (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(u)).ToArray()
            : await Task.WhenAll(images.Select(async f => (ReadOnlyMemory<byte>)await File.ReadAllBytesAsync(f, cancellationToken).ConfigureAwait(false))).ConfigureAwait(false);
        var input = GraphPipe.Tensor.FromStrings(payload);
        IReadOnlyList<GraphPipe.Tensor> outputs = mode switch
        {
            Sequencing.Client => await ClientSequencedAsync(input, fromUrls, cancellationToken).ConfigureAwait(false),
            Sequencing.Server => await CallAsync(fromUrls ? _endpoints.ChainedDownloader : _endpoints.ChainedPreprocessor, input, string.Empty, LabelOutputs, cancellationToken).ConfigureAwait(false),
            // Hybrid: the client names the route in config and the stages carry the data along it.
            // One hop is the plain-URL config of the original pipelines; further hops are passed on.
            Sequencing.Hybrid => fromUrls
                ? await CallAsync(_endpoints.Downloader, input, $"{_endpoints.Preprocessor} {_endpoints.Model}", LabelOutputs, cancellationToken).ConfigureAwait(false)
                : await CallAsync(_endpoints.Preprocessor, input, _endpoints.Model.ToString(), LabelOutputs, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
        return ToClassifications(images, outputs);
    }

    private async Task<IReadOnlyList<GraphPipe.Tensor>> ClientSequencedAsync(GraphPipe.Tensor input, bool fromUrls, CancellationToken cancellationToken)
    {
        var images = input;
        if (fromUrls)
        {
            images = (await CallAsync(_endpoints.Downloader, input, string.Empty, [], cancellationToken).ConfigureAwait(false))[0];
        }

        var tensor = (await CallAsync(_endpoints.Preprocessor, images, string.Empty, [], cancellationToken).ConfigureAwait(false))[0];
        return await CallAsync(_endpoints.Model, tensor, string.Empty, LabelOutputs, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<GraphPipe.Tensor>> CallAsync(Uri endpoint, GraphPipe.Tensor input, string config, IReadOnlyList<string> outputs, CancellationToken cancellationToken)
    {
        var response = await _client.WithEndpoint(endpoint).InferAsync(new GraphPipe.InferRequest
        {
            Config = config,
            Inputs = [input],
            OutputNames = outputs,
        }, cancellationToken).ConfigureAwait(false);
        return response.Outputs;
    }

    /// <summary>Reads <c>top_labels</c>/<c>top_scores</c> (first two outputs) into one result per image.</summary>
    internal static Classification[] ToClassifications(string[] images, IReadOnlyList<GraphPipe.Tensor> outputs)
    {
        if (outputs.Count < 2 || !outputs[0].IsString || outputs[1].Type != GraphPipe.TensorType.Float32 || outputs[0].Shape.Length != 2)
        {
            throw new GraphPipeException("the model stage did not return top_labels/top_scores; start it with --labels FILE", null, null, "no labels");
        }

        var labels = outputs[0].ToStringArray();
        var scores = outputs[1].ToArray<float>();
        var k = (int)outputs[0].Shape[1];
        var results = new Classification[images.Length];
        for (var i = 0; i < images.Length; i++)
        {
            var top = Enumerable.Range(0, k).Select(j => new LabelScore(labels[(i * k) + j], scores[(i * k) + j])).ToArray();
            results[i] = new Classification(images[i], top[0].Label, top[0].Score, top, null);
        }

        return results;
    }

    private static Classification Failed(string image, Exception ex)
    {
        var reason = ex is GraphPipeException gp ? gp.RemoteMessage : ex.Message;
        return new Classification(image, null, 0, [], reason);
    }

    public static bool IsUrl(string image)
        => image.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || image.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    public void Dispose() => _http.Dispose();

    /// <summary>Counts request and response body bytes so each mode's traffic can be reported.</summary>
    private sealed class CountingHandler(ClassyClient owner) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._calls);
            Interlocked.Add(ref owner._sent, request.Content?.Headers.ContentLength ?? 0);
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref owner._received, response.Content.Headers.ContentLength ?? 0);
            return response;
        }
    }
}
