using System.Net;
using GraphPipe.FunctionalTests.Download;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests.Client;

/// <summary>
/// The outgoing calls a request can steer (next stages named in its config) never go through an
/// environment proxy and carry no cookies; with an explicit proxy the target is checked, not the proxy.
/// </summary>
public sealed class NextHopSsrfTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConfigNext_HttpProxyInEnvironment_NeverReachesTheProxy()
    {
        await using var proxy = new CountingListener();
        await using var origin = await ImageServer.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["HTTP_PROXY"] = proxy.Address.ToString(),
            ["http_proxy"] = proxy.Address.ToString(),
            ["HTTPS_PROXY"] = proxy.Address.ToString(),
            ["NO_PROXY"] = string.Empty,
            ["no_proxy"] = string.Empty,
        };
        // 127.0.0.1 is allowed so that the image download succeeds and the request goes on to its next stage;
        // the proxy listens on 127.0.0.1 too, which is exactly why checking the proxy instead of the target is a hole.
        using var cli = CliProcess.Start(CliProcess.GraphPipeDll, ["serve", "download", "--listen", "127.0.0.1:0", "--allow-host", "127.0.0.1"], environment);
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var address = await cli.ServingAddressAsync("download", StartupTimeout);
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 3; i++)
            {
                var body = RawHttp.Encode(new InferRequest { Config = "http://metadata.google.internal/computeMetadata/v1/instance/", Inputs = [Tensor.FromStrings(origin.Url("ok.png"))] });
                statuses.Add((await RawHttp.PostAsync(http, address, body, Ct)).Status);
            }

            Assert.True(proxy.Connections == 0, $"the proxy was reached {proxy.Connections} of 3 times: {string.Join(" | ", proxy.RequestLines)}");
            Assert.All(statuses, status => Assert.NotEqual(HttpStatusCode.OK, status));
            Assert.Equal(3, origin.Requests);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task PolicyCheckedHandler_ExplicitProxy_ChecksTheTargetNotTheProxy()
    {
        await using var proxy = new CountingListener();
        // The proxy is on loopback; the policy refuses loopback targets but is told to use that proxy.
        var policy = new NetworkPolicy { Proxy = new WebProxy(proxy.Address) };
        using var http = new HttpClient(policy.CreateHandler()) { Timeout = Limits.Step };

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://127.0.0.1:9/", Ct));
        var refusedLiteral = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", Ct));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refusedLiteral.StatusCode);
        Assert.Equal(0, proxy.Connections);

        // A target the policy allows does go to the configured proxy.
        var allowed = new NetworkPolicy { Proxy = new WebProxy(proxy.Address), AllowedHosts = new HashSet<string> { "example.test" } };
        using var viaProxy = new HttpClient(allowed.CreateHandler()) { Timeout = Limits.Step };
        using var response = await viaProxy.GetAsync("http://example.test/image.png", Ct);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(["GET http://example.test/image.png HTTP/1.1"], proxy.RequestLines);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NextStage_SetCookieFromOneHop_NotSentOnAnother(bool fromConfig)
    {
        await using var next = await CookieSettingStage.StartAsync();
        var options = fromConfig
            ? new ForwardingOptions { ConfigPolicy = NetworkPolicy.AllowAll }
            : new ForwardingOptions { Next = next.Address };
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddForwardingStage("first", DelegateStage.Identity("first"), options, isDefault: true), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient { Timeout = Limits.Step };
        var input = Tensor.Create<float>([1f], [1, 1, 1, 1]);

        for (var i = 0; i < 3; i++)
        {
            var body = RawHttp.Encode(new InferRequest { Config = fromConfig ? next.Address.ToString() : string.Empty, Inputs = [input] });
            var response = await RawHttp.PostAsync(http, host.Address, body, Ct);
            Assert.Equal(HttpStatusCode.OK, response.Status);
        }

        Assert.Equal(3, next.Requests);
        Assert.Empty(next.CookiesReceived);
    }

    /// <summary>A GraphPipe stage that answers every request with a <c>Set-Cookie</c> and records the <c>Cookie</c> headers it receives.</summary>
    private sealed class CookieSettingStage : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<string> _cookies = [];
        private int _requests;

        private CookieSettingStage(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public int Requests => Volatile.Read(ref _requests);

        public IReadOnlyList<string> CookiesReceived
        {
            get { lock (_cookies) return [.. _cookies]; }
        }

        public static async Task<CookieSettingStage> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseGraphPipeListen("127.0.0.1:0");
            builder.Services.AddGraphPipeServing().AddStage("next", DelegateStage.Identity("next"), isDefault: true);
            var app = builder.Build();
            var stage = new CookieSettingStage(app);
            app.Use(async (context, nextMiddleware) =>
            {
                Interlocked.Increment(ref stage._requests);
                if (context.Request.Headers.Cookie.ToString() is { Length: > 0 } cookie)
                {
                    lock (stage._cookies) stage._cookies.Add(cookie);
                }

                context.Response.Headers.SetCookie = $"session=hop-{stage.Requests}; Path=/";
                await nextMiddleware(context);
            });
            app.MapGraphPipe();
            await app.StartAsync(Ct).WaitAsync(Limits.Step, Ct);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            stage.Address = new Uri(address.TrimEnd('/') + "/");
            return stage;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
