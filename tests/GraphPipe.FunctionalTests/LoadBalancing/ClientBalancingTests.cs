using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// GraphPipeClient over three endpoints on loopback: one refuses connections, one answers every request 503
/// with Retry-After, one is a real add_mul replica. Every request is retried onto the good one: none fails.
/// </summary>
public sealed class ClientBalancingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Infer_OneReplicaRefusesOneAnswers503_NoRequestFails()
    {
        await using var good = await LoopbackServer.StartOnnxAsync("add_mul.onnx");
        await using var full = await AlwaysFull.StartAsync();
        var refused = new Uri($"http://127.0.0.1:{LoopbackPorts.Free()}/");
        using var group = EndpointGroup.Parse($"{refused},{full.Address},{good.Address}", new BalancingOptions { EjectionPeriod = TimeSpan.FromMilliseconds(200) });
        using var http = new HttpClient(GraphPipeBalancing.CreateHandler([group]));
        var client = new GraphPipeClient(http, group.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(20) });

        await using var load = SteadyLoad.Start(client, x => (2 * x) + 1, workers: 4);
        await load.WaitForAsync(300);
        await load.StopAsync();

        Assert.True(load.Lost == 0, load.Report);
        Assert.True(full.Answered > 0, "the 503 replica was never tried");
        TestContext.Current.SendDiagnosticMessage($"refused + 503 + good: {load.Report}; 503s answered {full.Answered}");
    }

    [Fact]
    public async Task Infer_RetryTurnedOff_TheRefusedReplicasFailureReachesTheCaller()
    {
        await using var good = await LoopbackServer.StartOnnxAsync("add_mul.onnx");
        var refused = new Uri($"http://127.0.0.1:{LoopbackPorts.Free()}/");
        using var group = EndpointGroup.Parse($"{refused},{good.Address}", new BalancingOptions { Retry = false });
        using var http = new HttpClient(GraphPipeBalancing.CreateHandler([group]));
        var client = new GraphPipeClient(http, group.Address);

        var failures = 0;
        for (var i = 0; i < 40; i++)
        {
            try
            {
                await client.InferFloatsAsync([1, 2, 3, 4], [1, 4], cancellationToken: Ct);
            }
            catch (GraphPipeException ex)
            {
                failures++;
                Assert.Contains($"replica {refused.Authority}", ex.Message, StringComparison.Ordinal);
            }
        }

        // Passive health ejects the refusing replica after 3 failures: at most those reach the caller.
        Assert.InRange(failures, 1, 3);
    }

    /// <summary>A server that answers every request 503 with Retry-After (a replica that is full or draining).</summary>
    private sealed class AlwaysFull : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _answered;

        private AlwaysFull(WebApplication app) => _app = app;

        public Uri Address => new(_app.Urls.First());

        public int Answered => Volatile.Read(ref _answered);

        public static async Task<AlwaysFull> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var server = new AlwaysFull(app);
            app.Run(context =>
            {
                Interlocked.Increment(ref server._answered);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                return Task.CompletedTask;
            });
            await app.StartAsync(Ct);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
