using System.Net;
using System.Security.Cryptography;
using GraphPipe.Client;
using GraphPipe.Download;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Download;

/// <summary>The downloader behind the GraphPipe front door, alone and forwarding to a next stage, all over real loopback HTTP.</summary>
public sealed class DownloaderServingTests : IAsyncLifetime
{
    private ImageServer _origin = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _origin = await ImageServer.StartAsync();

    public async ValueTask DisposeAsync() => await _origin.DisposeAsync();

    private static Task<RawResponse> PostUrlsAsync(LoopbackServer server, string config, params string[] urls)
        => RawHttp.PostAsync(server.Http, server.Address, RawHttp.Encode(new InferRequest { Config = config, Inputs = [Tensor.FromStrings(urls)] }), Ct);

    /// <summary>Server sequencing: the downloader in front forwards every request to <paramref name="next"/>.</summary>
    private static Task<LoopbackServer> StartForwardingToAsync(DownloaderStage downloader, HttpClient http, Uri next)
        => LoopbackServer.StartAsync(new ForwardingStage(downloader, new GraphPipeNextStage(http, next), new GraphPipeNextStageResolver(http, new NetworkPolicy())));

    /// <summary>Hybrid sequencing: the downloader in front forwards to the next stage a request's config names, as far as <paramref name="configPolicy"/> allows.</summary>
    private static Task<LoopbackServer> StartForwardingByConfigAsync(DownloaderStage downloader, HttpClient untrusted, NetworkPolicy configPolicy)
    {
        return LoopbackServer.StartAsync(new ForwardingStage(downloader, null, new GraphPipeNextStageResolver(untrusted, configPolicy)));
    }

    [Fact]
    public async Task Serve_Urls_ClientReceivesTheImagesInOrder()
    {
        using var stage = new DownloaderStage(ImageServer.LocalOptions());
        await using var server = await LoopbackServer.StartAsync(stage);

        var images = await server.Client.InferAsync(Tensor.FromStrings(_origin.Url("img/4"), _origin.Url("ok.png")), cancellationToken: Ct);

        Assert.Equal([2L], images.Shape);
        Assert.Equal(ImageServer.ImageBytes(4), images.Strings[0].ToArray());
        Assert.Equal(ImageServer.Png, images.Strings[1].ToArray());
    }

    [Theory]
    [InlineData("status/404", HttpStatusCode.BadRequest, "HTTP 404 Not Found")]
    [InlineData("status/500", HttpStatusCode.BadGateway, "HTTP 500 Internal Server Error")]
    [InlineData("slow", HttpStatusCode.GatewayTimeout, "timed out after 0.3s")]
    [InlineData("big/5000", HttpStatusCode.BadRequest, "body of 5000 bytes is larger than 4096 bytes")]
    [InlineData("chunked/5000", HttpStatusCode.BadRequest, "body is larger than 4096 bytes")]
    [InlineData("html", HttpStatusCode.BadRequest, "content type text/html is not an image")]
    [InlineData("redirect-loop", HttpStatusCode.BadRequest, "more than 3 redirects")]
    public async Task Serve_FailingUrl_AnswersStatusAndMessageNamingTheUrl(string path, HttpStatusCode status, string reason)
    {
        using var stage = new DownloaderStage(ImageServer.LocalOptions(o => { o.Timeout = TimeSpan.FromMilliseconds(300); o.MaxBytesPerImage = 4096; }));
        await using var server = await LoopbackServer.StartAsync(stage);
        var url = _origin.Url(path);

        var response = await PostUrlsAsync(server, string.Empty, _origin.Url("ok.png"), url);

        Assert.Equal(status, response.Status);
        Assert.StartsWith($"[download] url 1 ({url}): {reason}", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PrivateUrlWithDefaultPolicy_Answers400NamingTheRefusal()
    {
        using var stage = new DownloaderStage(new DownloaderOptions());
        await using var server = await LoopbackServer.StartAsync(stage);
        var url = _origin.Url("ok.png");

        var response = await PostUrlsAsync(server, string.Empty, url);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains($"url 0 ({url}): 127.0.0.1 resolves to loopback address", response.Text, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task Forward_ServerSequencing_NextStageGetsTheExactBytesAndClientGetsItsAnswer()
    {
        var next = new CapturingStage();
        await using var nextServer = await LoopbackServer.StartAsync(next);
        using var downloader = new DownloaderStage(ImageServer.LocalOptions());
        using var http = new HttpClient();
        await using var front = await StartForwardingToAsync(downloader, http, nextServer.Address);

        var answer = await front.Client.InferAsync(Tensor.FromStrings(_origin.Url("ok.png"), _origin.Url("img/9")), cancellationToken: Ct);

        byte[][] expected = [ImageServer.Png, ImageServer.ImageBytes(9)];
        Assert.Equal(expected, await next.Received.WaitAsync(Limits.Step, Ct));
        Assert.Equal(CapturingStage.Describe(expected), answer.ToStringArray());
    }

    [Fact]
    public async Task Forward_HybridSequencing_NextStageFromConfigGetsTheBytes()
    {
        var next = new CapturingStage();
        await using var nextServer = await LoopbackServer.StartAsync(next);
        using var downloader = new DownloaderStage(ImageServer.LocalOptions());
        using var untrusted = new HttpClient(NetworkPolicy.AllowAll.CreateHandler());
        await using var front = await StartForwardingByConfigAsync(downloader, untrusted, NetworkPolicy.AllowAll);

        var answer = await front.Client.InferAsync(Tensor.FromStrings(_origin.Url("img/1"), _origin.Url("img/2"), _origin.Url("img/3")), nextServer.Address.ToString(), Ct);

        byte[][] expected = [ImageServer.ImageBytes(1), ImageServer.ImageBytes(2), ImageServer.ImageBytes(3)];
        Assert.Equal(expected, await next.Received.WaitAsync(Limits.Step, Ct));
        Assert.Equal(CapturingStage.Describe(expected), answer.ToStringArray());
    }

    [Fact]
    public async Task Forward_PrivateNextStageInConfigWithDefaultPolicy_IsRefusedBeforeDownloading()
    {
        var next = new CapturingStage();
        await using var nextServer = await LoopbackServer.StartAsync(next);
        using var downloader = new DownloaderStage(ImageServer.LocalOptions());
        using var untrusted = new HttpClient(new NetworkPolicy().CreateHandler());
        await using var front = await StartForwardingByConfigAsync(downloader, untrusted, new NetworkPolicy());

        var response = await PostUrlsAsync(front, nextServer.Address.ToString(), _origin.Url("ok.png"));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains($"next stage {nextServer.Address}", response.Text, StringComparison.Ordinal);
        Assert.Contains("loopback address", response.Text, StringComparison.Ordinal);
        Assert.False(next.Received.IsCompleted);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task Forward_DownloadFails_ClientGetsTheDownloadErrorAndNextStageNothing()
    {
        var next = new CapturingStage();
        await using var nextServer = await LoopbackServer.StartAsync(next);
        using var downloader = new DownloaderStage(ImageServer.LocalOptions());
        using var http = new HttpClient();
        await using var front = await StartForwardingToAsync(downloader, http, nextServer.Address);
        var url = _origin.Url("status/404");

        var response = await PostUrlsAsync(front, string.Empty, url);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains($"url 0 ({url}): HTTP 404 Not Found", response.Text, StringComparison.Ordinal);
        Assert.False(next.Received.IsCompleted);
    }

    /// <summary>A next stage that keeps a copy of the byte strings it receives and answers with their lengths and hashes.</summary>
    private sealed class CapturingStage : IInferenceStage
    {
        private readonly TaskCompletionSource<byte[][]> _received = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StageMetadata Metadata { get; } = new()
        {
            Name = "capture",
            Inputs = [new IOMetadata("images", TensorType.String, [-1])],
            Outputs = [new IOMetadata("digests", TensorType.String, [-1])],
        };

        public Task<byte[][]> Received => _received.Task;

        public static string[] Describe(byte[][] images) => images.Select(b => $"{b.Length}:{Convert.ToHexString(SHA256.HashData(b))}").ToArray();

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            // The inputs view the request buffer: copy before the request ends.
            var images = request.Inputs[0].Strings.Select(s => s.ToArray()).ToArray();
            _received.TrySetResult(images);
            return ValueTask.FromResult(StageResult.Success([Tensor.FromStrings(Describe(images))]));
        }
    }
}
