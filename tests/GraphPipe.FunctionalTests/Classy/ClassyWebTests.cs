using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Classy;
using Classy.Web;
using GraphPipe.Server;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// <c>classy web</c> over plain HTTP (no browser): the page and everything it imports come from the
/// assembly under a same-origin security policy, and the proxy reaches each configured stage and
/// nothing else. The stages here are a test stage (model) and closed ports (stage down).
/// </summary>
public sealed partial class ClassyWebTests : IAsyncLifetime
{
    private GraphPipeStageHost _model = null!;
    private ClassyWebApp _web = null!;
    private HttpClient _http = null!;
    private Uri _down = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _model = await GraphPipeStageHost.StartAsync(DelegateStage.Identity("web-test-model"), cancellationToken: Ct);
        _down = new Uri($"http://127.0.0.1:{LoopbackPorts.Free()}/");
        _web = await ClassyWebApp.StartAsync(new ClassyWebOptions
        {
            Listen = "127.0.0.1:0",
            Stages = new ClassyEndpoints(_model.Address, _down, _down, _down, _down),
            SamplesDirectory = Path.Combine(AppContext.BaseDirectory, "images", "fashion"),
        }, cancellationToken: Ct);
        _http = new HttpClient { BaseAddress = _web.Address, Timeout = Limits.Step };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _web.DisposeAsync();
        await _model.DisposeAsync();
    }

    [Fact]
    public async Task Get_Root_ServesThePageUnderASameOriginPolicyWithOnlyRelativeReferences()
    {
        using var response = await _http.GetAsync("/", Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("http://127.0.0.1:", _web.Address.ToString(), StringComparison.Ordinal);
        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        // The inline import map is the one inline script, allowed by its hash.
        var importMap = Regex.Match(html, "<script type=\"importmap\">(.*?)</script>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains($"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(importMap)))}'", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var references = Reference().Matches(html).Select(m => m.Groups["url"].Value).ToArray();
        Assert.NotEmpty(references);
        Assert.All(references.Where(r => !r.StartsWith('#')), r => Assert.False(r.Contains("//", StringComparison.Ordinal) || r.StartsWith('/'), r));
    }

    [Fact]
    public async Task Get_EveryModuleThePageImports_IsServedAsJavaScriptFromTheAssembly()
    {
        // Follow app.js's imports (and theirs), as the browser does, with the import map's one bare name.
        var pending = new Queue<string>(["app.js"]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var path))
        {
            if (!seen.Add(path))
            {
                continue;
            }

            using var response = await _http.GetAsync(path, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}");
            Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
            var source = await response.Content.ReadAsStringAsync(Ct);
            foreach (Match import in Import().Matches(source))
            {
                var target = import.Groups["from"].Value;
                pending.Enqueue(target == "flatbuffers" ? "vendor/flatbuffers/flatbuffers.js" : new Uri(new Uri(_web.Address, path), target).AbsolutePath.TrimStart('/'));
            }
        }

        Assert.Contains("js/graphpipe/wire.js", seen);
        Assert.Contains("vendor/flatbuffers/builder.js", seen);
        // The vendored runtime is served byte for byte, with its licence.
        var vendored = Path.Combine(NodeRunner.ClientDirectory, "vendor", "flatbuffers");
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(vendored, "builder.js"), Ct), await _http.GetByteArrayAsync("vendor/flatbuffers/builder.js", Ct));
        Assert.Contains("Apache License", await _http.GetStringAsync("vendor/flatbuffers/LICENSE", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_Manifest_NamesPngIconsThatAreServedAtTheirSizes()
    {
        using var manifest = JsonDocument.Parse(await _http.GetStringAsync("manifest.webmanifest", Ct));

        Assert.Equal("standalone", manifest.RootElement.GetProperty("display").GetString());
        var pngs = manifest.RootElement.GetProperty("icons").EnumerateArray().Where(i => i.GetProperty("type").GetString() == "image/png").ToArray();
        Assert.Contains(pngs, i => i.GetProperty("sizes").GetString() == "192x192");
        Assert.Contains(pngs, i => i.GetProperty("sizes").GetString() == "512x512");
        foreach (var icon in pngs)
        {
            var bytes = await _http.GetByteArrayAsync(icon.GetProperty("src").GetString(), Ct);
            // PNG: signature, then the IHDR chunk's width and height (big-endian) at 16 and 20.
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
            Assert.Equal(icon.GetProperty("sizes").GetString(), $"{BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16))}x{BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))}");
        }
    }

    [Fact]
    public async Task Get_ApiConfig_GivesProxyPathsAndTheStagesOwnAddressesForTheHybridRoute()
    {
        using var config = JsonDocument.Parse(await _http.GetStringAsync("api/config", Ct));

        var stages = config.RootElement.GetProperty("stages");
        Assert.Equal("stages/model/", stages.GetProperty("model").GetString());
        Assert.Equal("stages/chained-downloader/", stages.GetProperty("chainedDownloader").GetString());
        Assert.Equal(_model.Address.ToString(), config.RootElement.GetProperty("route").GetProperty("model").GetString());
        var sample = config.RootElement.GetProperty("samples")[0].GetString()!;
        using var image = await _http.GetAsync(sample, Ct);
        Assert.Equal(("image/png", HttpStatusCode.OK), (image.Content.Headers.ContentType?.MediaType, image.StatusCode));
    }

    [Fact]
    public async Task Post_StagePath_ReachesThatStage()
    {
        var response = await RawHttp.PostAsync(_http, new Uri(_web.Address, "stages/model/"), RawHttp.EncodeMetadataRequest(), Ct);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("web-test-model", GraphPipeReader.ReadMetadataResponse(response.Body).Name);
    }

    [Theory]
    [InlineData("stages/elsewhere/")]
    [InlineData("stages/http:%2F%2F169.254.169.254%2F/")]
    [InlineData("stages/")]
    public async Task Post_NoSuchStage_Is404AndGoesNowhere(string path)
    {
        var response = await RawHttp.PostAsync(_http, new Uri(_web.Address, path), RawHttp.EncodeMetadataRequest(), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Contains("no stage", response.Text, StringComparison.Ordinal);
        Assert.Contains("stages: model, preprocessor, downloader", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_StageDown_Is502()
    {
        var response = await RawHttp.PostAsync(_http, new Uri(_web.Address, "stages/preprocessor/"), RawHttp.EncodeMetadataRequest(), Ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.Status);
    }

    [Fact]
    public async Task Get_UnchangedAsset_Is304WithTheSameETag()
    {
        using var first = await _http.GetAsync("app.js", Ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, "app.js");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await _http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Equal("no-cache", first.Headers.CacheControl?.ToString());
    }

    [GeneratedRegex("""(?:src|href)="(?<url>[^"]+)"|"src":\s*"(?<url>[^"]+)""")]
    private static partial Regex Reference();

    [GeneratedRegex("""(?:import|export)\s[^'"]*?from\s+'(?<from>[^']+)'""")]
    private static partial Regex Import();
}
