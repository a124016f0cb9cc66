using System.Net;
using GraphPipe.Client;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Download;

/// <summary><c>graphpipe serve download</c> as a user runs it: a child process fetching from a loopback origin.</summary>
public sealed class DownloadCliTests : IAsyncLifetime
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private ImageServer _origin = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _origin = await ImageServer.StartAsync();

    public async ValueTask DisposeAsync() => await _origin.DisposeAsync();

    [Fact]
    public async Task ServeDownload_AllowPrivateNetworks_DownloadsAndForwardsToNextStageFromConfig()
    {
        await using var next = await LoopbackServer.StartAsync(new DelegateStage("next", static (request, _) =>
            ValueTask.FromResult(StageResult.Success([Tensor.FromStrings(request.Inputs[0].Strings.Select(s => $"{s.Length}").ToArray())]))));
        using var cli = Start("serve", "download", "--allow-private-networks", "--listen", "127.0.0.1:0", "--max-urls", "4");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var client = new GraphPipeClient(http, await cli.ServingAddressAsync("download", StartupTimeout));
            var urls = Tensor.FromStrings(_origin.Url("ok.png"), _origin.Url("img/6"));

            var images = await client.InferAsync(urls, cancellationToken: Ct);
            var forwarded = await client.InferAsync(urls, next.Address.ToString(), Ct);
            var metadata = await client.GetMetadataAsync(Ct);

            Assert.Equal(ImageServer.Png, images.Strings[0].ToArray());
            Assert.Equal(ImageServer.ImageBytes(6), images.Strings[1].ToArray());
            Assert.Equal([$"{ImageServer.Png.Length}", $"{ImageServer.ImageBytes(6).Length}"], forwarded.ToStringArray());
            Assert.Equal("download", metadata.Name);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_DefaultPolicy_RefusesLoopbackImagesAndNextStages()
    {
        await using var next = await LoopbackServer.StartAsync(DelegateStage.Identity("next"));
        using var cli = Start("serve", "download", "--listen", "127.0.0.1:0");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var address = await cli.ServingAddressAsync("download", StartupTimeout);
            var url = _origin.Url("ok.png");

            var image = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(url)] }), Ct);
            var forward = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Config = next.Address.ToString(), Inputs = [Tensor.FromStrings(url)] }), Ct);

            Assert.Equal(HttpStatusCode.BadRequest, image.Status);
            Assert.Contains($"url 0 ({url}): 127.0.0.1 resolves to loopback address", image.Text, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadRequest, forward.Status);
            Assert.Contains($"next stage {next.Address}", forward.Text, StringComparison.Ordinal);
            Assert.Equal(0, _origin.Requests);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_EnvironmentVariables_SetPolicyAndLimits()
    {
        using var cli = Start(new Dictionary<string, string> { ["GP_ALLOW_PRIVATE_NETWORKS"] = "1", ["GP_MAX_URLS"] = "1", ["GP_LISTEN"] = "127.0.0.1:0" }, "serve", "download");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var address = await cli.ServingAddressAsync("download", StartupTimeout);

            var one = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(_origin.Url("ok.png"))] }), Ct);
            var two = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(_origin.Url("ok.png"), _origin.Url("img/1"))] }), Ct);

            Assert.Equal(HttpStatusCode.OK, one.Status);
            Assert.Equal(HttpStatusCode.BadRequest, two.Status);
            Assert.Contains("has 2 URLs; at most 1 are allowed per request", two.Text, StringComparison.Ordinal);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_InvalidLimit_ExitsTwoNamingTheFlag()
    {
        var run = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["serve", "download", "--max-concurrency-per-request", "0", "--listen", "127.0.0.1:0"], environment: null, StartupTimeout);

        // A bad flag value is a usage error: exit code 2.
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("graphpipe: --max-concurrency-per-request:", run.Stderr.Trim(), StringComparison.Ordinal);
    }

    private static CliProcess Start(params string[] args) => Start(environment: null, args);

    private static CliProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args) => CliProcess.Start(CliProcess.GraphPipeDll, args, environment);
}
