using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using GraphPipe.Download;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Download;

/// <summary>The downloader stage against a real HTTP origin on loopback.</summary>
public sealed class DownloaderStageTests : IAsyncLifetime
{
    private ImageServer _origin = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _origin = await ImageServer.StartAsync();

    public async ValueTask DisposeAsync() => await _origin.DisposeAsync();

    private static StageRequest Request(params string[] urls) => Request(Tensor.FromStrings(urls));

    private static StageRequest Request(Tensor urls, string config = "") => new(["urls"], [urls], ["images"], config);

    private static async Task<StageResult> RunAsync(DownloaderOptions options, params string[] urls)
    {
        using var stage = new DownloaderStage(options);
        return await stage.InferAsync(Request(urls), Ct).AsTask().WaitAsync(Limits.Step, Ct);
    }

    private static StageError AssertFailure(StageResult result, StageErrorKind kind)
    {
        Assert.False(result.IsSuccess, "expected a failure, the download succeeded");
        Assert.Equal(kind, result.Error!.Kind);
        return result.Error;
    }

    [Fact]
    public async Task InferAsync_SeveralUrls_ReturnsEachBodyByteForByteInInputOrder()
    {
        var ids = Enumerable.Range(1, 12).ToArray();
        var urls = ids.Select(id => _origin.Url($"img/{id}")).Prepend(_origin.Url("ok.png")).ToArray();

        using var result = await RunAsync(ImageServer.LocalOptions(), urls);

        Assert.True(result.IsSuccess, result.Error?.Message);
        var images = Assert.Single(result.Outputs);
        Assert.Equal(TensorType.String, images.Type);
        Assert.Equal([13L], images.Shape);
        Assert.Equal(ImageServer.Png, images.Strings[0].ToArray());
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ImageServer.ImageBytes(ids[i]), images.Strings[i + 1].ToArray());
        }
    }

    [Fact]
    public async Task InferAsync_MatrixOfUrls_ReturnsOneImagePerUrlRowMajor()
    {
        var urls = Tensor.FromStrings(new[] { "img/1", "img/2", "img/3", "img/4" }.Select(p => (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(_origin.Url(p))).ToArray(), [2, 2]);
        using var stage = new DownloaderStage(ImageServer.LocalOptions());

        using var result = await stage.InferAsync(Request(urls), Ct);

        Assert.True(result.IsSuccess, result.Error?.Message);
        var images = Assert.Single(result.Outputs);
        Assert.Equal([4L], images.Shape);
        Assert.Equal(ImageServer.ImageBytes(3), images.Strings[2].ToArray());
    }

    [Fact]
    public async Task InferAsync_NoUrls_ReturnsAnEmptyTensorWithoutNetworkTraffic()
    {
        using var result = await RunAsync(ImageServer.LocalOptions());

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([0L], Assert.Single(result.Outputs).Shape);
        Assert.Equal(0, _origin.Requests);
    }

    [Theory]
    [InlineData("octet/5")]
    [InlineData("notype/5")]
    public async Task InferAsync_OctetStreamOrNoContentType_IsAccepted(string path)
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), _origin.Url(path));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.ImageBytes(5), result.Outputs[0].Strings[0].ToArray());
    }

    [Fact]
    public async Task InferAsync_NotFound_FailsAsInvalidInputNamingIndexUrlAndStatus()
    {
        var url = _origin.Url("status/404");

        using var result = await RunAsync(ImageServer.LocalOptions(), _origin.Url("ok.png"), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal($"url 1 ({url}): HTTP 404 Not Found", error.Message);
    }

    [Fact]
    public async Task InferAsync_OriginServerError_RetriedThenFailsAsUpstream()
    {
        var url = _origin.Url("status/503");

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxRetries = 2), url);

        var error = AssertFailure(result, StageErrorKind.Upstream);
        Assert.Equal($"url 0 ({url}): HTTP 503 Service Unavailable (3 attempts)", error.Message);
        Assert.Equal(3, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_OriginServerErrorRetriesOff_OneAttempt()
    {
        var url = _origin.Url("status/503");

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxRetries = 0), url);

        var error = AssertFailure(result, StageErrorKind.Upstream);
        Assert.Equal($"url 0 ({url}): HTTP 503 Service Unavailable", error.Message);
        Assert.Equal(1, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_NothingListening_FailsAsUpstreamSayingItCouldNotConnect()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), "http://127.0.0.1:1/x.png");

        var error = AssertFailure(result, StageErrorKind.Upstream);
        Assert.StartsWith("url 0 (http://127.0.0.1:1/x.png): could not connect", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("slow")]
    [InlineData("stall")]
    public async Task InferAsync_OriginSlowerThanTimeout_FailsAsTimeoutPromptly(string path)
    {
        var url = _origin.Url(path);
        var clock = Stopwatch.StartNew();

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.Timeout = TimeSpan.FromMilliseconds(300)), url);

        var error = AssertFailure(result, StageErrorKind.Timeout);
        Assert.Equal($"url 0 ({url}): timed out after 0.3s", error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task InferAsync_CallerCancels_ThrowsOperationCanceled()
    {
        using var stage = new DownloaderStage(ImageServer.LocalOptions());
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stage.InferAsync(Request(_origin.Url("slow"), _origin.Url("ok.png")), cancel.Token).AsTask().WaitAsync(Limits.Step, Ct));
    }

    [Theory]
    [InlineData("big/20000", "body of 20000 bytes is larger than 10000 bytes")]
    [InlineData("chunked/20000", "body is larger than 10000 bytes")]
    public async Task InferAsync_BodyOverTheLimit_FailsNamingTheLimit(string path, string reason)
    {
        var url = _origin.Url(path);

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxBytesPerImage = 10_000), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal($"url 0 ({url}): {reason}", error.Message);
    }

    [Theory]
    [InlineData("big/10000")]
    [InlineData("chunked/10000")]
    public async Task InferAsync_BodyExactlyAtTheLimit_IsAccepted(string path)
    {
        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxBytesPerImage = 10_000), _origin.Url(path));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(10_000, result.Outputs[0].Strings[0].Length);
    }

    [Fact]
    public async Task InferAsync_RequestTotalOverTheLimit_Fails()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxBytesPerRequest = 10_000), _origin.Url("big/4000"), _origin.Url("chunked/4000"), _origin.Url("big/4000"));

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.EndsWith("the request's downloads are larger than 10000 bytes in total (MaxBytesPerRequest)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_HtmlPage_FailsAsNotAnImage()
    {
        var url = _origin.Url("html");

        using var result = await RunAsync(ImageServer.LocalOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): content type text/html is not an image", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_HtmlPageWithContentTypeCheckOff_ReturnsTheBytes()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(o => o.CheckContentType = false), _origin.Url("html"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.StartsWith("<html>", System.Text.Encoding.UTF8.GetString(result.Outputs[0].Strings[0].Span), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://example.com/cat.png")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("cat.png")]
    [InlineData("")]
    public async Task InferAsync_NotAnHttpUrl_FailsBeforeAnyDownload(string url)
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), _origin.Url("ok.png"), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal($"url 1 ({url}): not an http(s) URL", error.Message);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_InvalidUtf8_FailsBeforeAnyDownload()
    {
        using var stage = new DownloaderStage(ImageServer.LocalOptions());
        var urls = Tensor.FromStrings([(ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes(_origin.Url("ok.png")), new byte[] { 0x68, 0xFF, 0xFE }]);

        using var result = await stage.InferAsync(Request(urls), Ct);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith("url 1 (", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("): not valid UTF-8", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_LongUrlWithControlCharacters_IsShownShortenedOnOneLine()
    {
        var url = "ftp://example.com/\n" + new string('a', 1000);

        using var result = await RunAsync(ImageServer.LocalOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Contains("... (1019 chars)): not an http(s) URL", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 300, error.Message);
    }

    [Fact]
    public async Task InferAsync_UrlWithCredentials_IsRefused()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), $"http://user:secret@127.0.0.1:{_origin.Port}/ok.png");

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Contains("credentials", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_NonStringInput_FailsNamingTheInput()
    {
        using var stage = new DownloaderStage(ImageServer.LocalOptions());

        using var result = await stage.InferAsync(Request(Tensor.Create(new[] { 1f, 2f })), Ct);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal("input 'urls': expected type string (image URLs), received float32[2]", error.Message);
    }

    [Fact]
    public async Task InferAsync_MoreUrlsThanAllowed_FailsWithoutNetworkTraffic()
    {
        var urls = Enumerable.Range(0, 5).Select(i => _origin.Url($"img/{i}")).ToArray();

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxUrlsPerRequest = 4), urls);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal("input 'urls' has 5 URLs; at most 4 are allowed per request (MaxUrlsPerRequest)", error.Message);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_LoopbackLiteralWithDefaultPolicy_IsRefusedWithoutConnecting()
    {
        var url = _origin.Url("ok.png");

        using var result = await RunAsync(new DownloaderOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): 127.0.0.1 resolves to loopback address 127.0.0.1; refused", error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowPrivateNetworks", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Theory]
    [InlineData("http://10.1.2.3/cat.png", "private")]
    [InlineData("http://192.168.0.1/cat.png", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "cloud metadata")]
    [InlineData("http://[::1]/cat.png", "loopback")]
    [InlineData("http://0.0.0.0/cat.png", "unspecified")]
    [InlineData("http://[::ffff:10.0.0.1]/cat.png", "private")]
    [InlineData("http://[::ffff:169.254.169.254]/latest/meta-data/", "cloud metadata")]
    [InlineData("http://[::ffff:100.64.0.1]/cat.png", "shared (CGNAT)")]
    public async Task InferAsync_PrivateLiteralWithDefaultPolicy_IsRefusedNamingTheKind(string url, string kind)
    {
        using var result = await RunAsync(new DownloaderOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Contains($"{kind} address", error.Message, StringComparison.Ordinal);
        Assert.StartsWith($"url 0 ({url}): ", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>[::ffff:127.0.0.1]</c> is the loopback origin written as an IPv4-mapped IPv6 address: refused before
    /// connecting. The second test shows the same URL does reach the origin when private networks are allowed,
    /// so the refusal is the policy's doing. (.NET's <c>IPAddress.IsLoopback</c> knows the mapped loopback by
    /// itself; the mapped private and metadata cases above are the ones that need the policy's own mapping.)
    /// </summary>
    [Fact]
    public async Task InferAsync_IPv4MappedLoopbackWithDefaultPolicy_IsRefusedAsLoopbackWithoutConnecting()
    {
        var url = MappedUrl("ok.png");

        using var result = await RunAsync(new DownloaderOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): ", error.Message, StringComparison.Ordinal);
        Assert.Contains("resolves to loopback address ::ffff:127.0.0.1; refused", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_IPv4MappedLoopbackWithAllowPrivateNetworks_ReachesTheIPv4Origin()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), MappedUrl("img/5"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.ImageBytes(5), result.Outputs[0].Strings[0].ToArray());
        Assert.Equal(1, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_HostNameResolvingToLoopbackWithDefaultPolicy_IsRefusedAtConnectTime()
    {
        var url = _origin.LocalhostUrl("ok.png");

        using var result = await RunAsync(new DownloaderOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): localhost resolves to loopback address", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_LoopbackWithAllowPrivateNetworks_Downloads()
    {
        using var result = await RunAsync(new DownloaderOptions { Policy = new NetworkPolicy { AllowPrivateNetworks = true } }, _origin.Url("ok.png"), _origin.LocalhostUrl("img/2"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.Png, result.Outputs[0].Strings[0].ToArray());
        Assert.Equal(ImageServer.ImageBytes(2), result.Outputs[0].Strings[1].ToArray());
    }

    [Fact]
    public async Task InferAsync_AllowedHostByName_Downloads()
    {
        using var result = await RunAsync(OnlyLocalhost(), _origin.LocalhostUrl("ok.png"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.Png, result.Outputs[0].Strings[0].ToArray());
    }

    [Theory]
    [InlineData("http://127.0.0.1:{port}/ok.png", "loopback")]
    [InlineData("http://10.0.0.1/x", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "cloud metadata")]
    public async Task InferAsync_RedirectFromAllowedHostToPrivateAddress_IsRefused(string target, string kind)
    {
        target = target.Replace("{port}", _origin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var url = _origin.LocalhostUrl($"redirect?to={Uri.EscapeDataString(target)}");

        using var result = await RunAsync(OnlyLocalhost(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): redirected to {target}, which is refused: ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{kind} address", error.Message, StringComparison.Ordinal);
        // Only the first hop reached the origin.
        Assert.Equal(1, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_RedirectToHostNameResolvingToLoopback_IsRefusedAtConnectTime()
    {
        // The first origin, 127.0.0.2, is allowed; the redirect names "localhost", which passes the URL
        // check (it is not an address) and resolves to 127.0.0.1/::1, which only the connect-time check can refuse.
        await using var allowed = await ImageServer.StartAsync("127.0.0.2");
        var target = _origin.LocalhostUrl("ok.png");
        var url = allowed.Url($"redirect?to={Uri.EscapeDataString(target)}");
        var options = new DownloaderOptions { Policy = new NetworkPolicy { AllowedHosts = new HashSet<string>(["127.0.0.2"]) } };

        using var result = await RunAsync(options, url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.StartsWith($"url 0 ({url}): redirected to {target}, which is refused: localhost resolves to ", error.Message, StringComparison.Ordinal);
        Assert.Contains("loopback address", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, allowed.Requests);
        Assert.Equal(0, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_RedirectsWithinTheLimit_AreFollowed()
    {
        using var result = await RunAsync(ImageServer.LocalOptions(), _origin.Url("redirect-chain/3"), _origin.Url($"redirect?to={Uri.EscapeDataString("/img/7")}"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.Png, result.Outputs[0].Strings[0].ToArray());
        Assert.Equal(ImageServer.ImageBytes(7), result.Outputs[0].Strings[1].ToArray());
    }

    [Theory]
    [InlineData("redirect-chain/4")]
    [InlineData("redirect-loop")]
    public async Task InferAsync_TooManyRedirects_Fails(string path)
    {
        var url = _origin.Url(path);

        using var result = await RunAsync(ImageServer.LocalOptions(), url);

        var error = AssertFailure(result, StageErrorKind.InvalidInput);
        Assert.Equal($"url 0 ({url}): more than 3 redirects", error.Message);
        Assert.Equal(4, _origin.Requests);
    }

    [Fact]
    public async Task InferAsync_PerRequestLimit_IsHonoured()
    {
        // The origin answers nothing until 3 downloads are in flight at once: reaching the limit is shown, not raced.
        _origin.CountedGate = 3;
        var urls = Enumerable.Range(0, 12).Select(i => _origin.Url($"counted/{i}")).ToArray();

        using var result = await RunAsync(ImageServer.LocalOptions(o => o.MaxConcurrencyPerRequest = 3), urls);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(3, _origin.MaxInFlight);
        Assert.Equal(ImageServer.ImageBytes(11), result.Outputs[0].Strings[11].ToArray());
    }

    [Fact]
    public async Task InferAsync_GlobalLimit_IsHonouredAcrossRequests()
    {
        // Two downloads must be in flight at once (of different requests or not) before the origin answers any.
        _origin.CountedGate = 2;
        using var stage = new DownloaderStage(ImageServer.LocalOptions(o => o.MaxConcurrency = 2));
        var requests = Enumerable.Range(0, 3)
            .Select(r => stage.InferAsync(Request(Enumerable.Range(0, 4).Select(i => _origin.Url($"counted/{(r * 10) + i}")).ToArray()), Ct).AsTask())
            .ToArray();

        var results = await Task.WhenAll(requests).WaitAsync(Limits.Step, Ct);

        Assert.All(results, r => Assert.True(r.IsSuccess, r.Error?.Message));
        Assert.Equal(2, _origin.MaxInFlight);
        foreach (var r in results) r.Dispose();
    }

    [Fact]
    public async Task Dispose_Result_ReleasesThePooledBodies()
    {
        var result = await RunAsync(ImageServer.LocalOptions(), _origin.Url("img/3"));
        Assert.True(result.IsSuccess, result.Error?.Message);
        var images = result.Outputs[0];
        Assert.Equal(ImageServer.ImageBytes(3).Length, images.Strings[0].Length);

        result.Dispose();

        // The views no longer point at the buffers, which are back in the pool.
        Assert.Equal(0, images.Strings[0].Length);
    }

    [Fact]
    public void Metadata_Defaults_DescribesUrlsInAndImagesOut()
    {
        using var stage = new DownloaderStage(new DownloaderOptions());

        Assert.Equal("download", stage.Metadata.Name);
        var input = Assert.Single(stage.Metadata.Inputs);
        Assert.Equal(("urls", TensorType.String), (input.Name, input.Type));
        var output = Assert.Single(stage.Metadata.Outputs);
        Assert.Equal(("images", TensorType.String), (output.Name, output.Type));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingTheSetting()
    {
        var zero = Assert.Throws<ValidationException>(() => new DownloaderStage(new DownloaderOptions { MaxConcurrencyPerRequest = 0 }));
        Assert.Contains(nameof(DownloaderOptions.MaxConcurrencyPerRequest), zero.Message, StringComparison.Ordinal);
        var timeout = Assert.Throws<ValidationException>(() => new DownloaderStage(new DownloaderOptions { Timeout = TimeSpan.Zero }));
        Assert.Contains(nameof(DownloaderOptions.Timeout), timeout.Message, StringComparison.Ordinal);
    }

    private string MappedUrl(string path) => $"http://[::ffff:127.0.0.1]:{_origin.Port}/{path}";

    private static DownloaderOptions OnlyLocalhost() => new()
    {
        Policy = new NetworkPolicy { AllowedHosts = new HashSet<string>(["localhost"], StringComparer.OrdinalIgnoreCase) },
    };
}
