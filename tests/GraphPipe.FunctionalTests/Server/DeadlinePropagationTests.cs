using System.Diagnostics;
using System.Net;
using GraphPipe.Client;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Server;

/// <summary>
/// One budget across hops (<c>GraphPipe-Timeout</c>): each host works to min(own timeout, remaining budget)
/// and passes what is left on, so the stage that runs out answers the 504 and nobody keeps working.
/// </summary>
public sealed class DeadlinePropagationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ThreeHops_OneSecondBudgetSlowLastStage_OneGatewayTimeoutNamingTheSlowStage()
    {
        var cancelled = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var slowStage = new DelegateStage("slow", async (request, cancellationToken) =>
        {
            if (request.Inputs[0].ToArray<float>()[0] == 0f)
            {
                return DelegateStage.Echo(request); // the warm-up request
            }

            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult(clock.Elapsed);
                throw;
            }

            throw new InvalidOperationException("unreachable");
        });
        await using var slow = await GraphPipeStageHost.StartAsync(s => s.AddStage("slow", slowStage, isDefault: true), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        await using var mid = await GraphPipeStageHost.StartAsync(s => s.AddForwardingStage("mid", DelegateStage.Identity("mid"), new ForwardingOptions { Next = slow.Address }, isDefault: true), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        await using var pre = await GraphPipeStageHost.StartAsync(s => s.AddForwardingStage("pre", DelegateStage.Identity("pre"), new ForwardingOptions { Next = mid.Address }, isDefault: true), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient { Timeout = Limits.Step };
        var client = new GraphPipeClient(http, pre.Address, new GraphPipeClientOptions { Deadline = TimeSpan.FromSeconds(1) });
        var input = Tensor.Create<float>([1f], [1, 1, 1, 1]);
        // Warm up every hop (JIT, connections) so that the budget measures the chain, not the first request's start-up.
        await new GraphPipeClient(http, pre.Address).InferAsync(Tensor.Create<float>([0f], [1, 1, 1, 1]), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        clock.Restart();
        var failure = await Assert.ThrowsAsync<GraphPipeException>(() => client.InferAsync(input, cancellationToken: Ct).WaitAsync(Limits.Step, Ct));
        var answeredAfter = clock.Elapsed;
        var stageStoppedAfter = await cancelled.Task.WaitAsync(Limits.Step, Ct);

        TestContext.Current.SendDiagnosticMessage($"3 hops, 1 s budget: 504 after {answeredAfter.TotalMilliseconds:0} ms; the slow stage saw cancellation after {stageStoppedAfter.TotalMilliseconds:0} ms");
        Assert.Equal(HttpStatusCode.GatewayTimeout, failure.StatusCode);
        Assert.StartsWith("[pre] ", failure.RemoteMessage);
        Assert.Contains("[slow] did not finish within the caller's budget", failure.RemoteMessage);
        Assert.Contains("GraphPipe-Timeout", failure.RemoteMessage);
        // No hang: the answer comes near the budget, far below the client's own 100 s backstop.
        Assert.True(answeredAfter < TimeSpan.FromSeconds(5), $"answered after {answeredAfter}");
        Assert.True(started.Task.IsCompleted);
        foreach (var host in new[] { pre, mid, slow })
        {
            Assert.Equal(0, await InFlightAsync(host));
        }
    }

    [Fact]
    public async Task Budget_SmallerThanRequestTimeout_WinsAndIsReported()
    {
        var stage = new DelegateStage("wait", static async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            throw new InvalidOperationException("unreachable");
        });
        await using var host = await GraphPipeStageHost.StartAsync(stage, configure: o => o.RequestTimeout = TimeSpan.FromSeconds(20), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient { Timeout = Limits.Step };
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>([1f], [1, 1, 1, 1])] });

        var timedOut = await PostAsync(http, host.Address, body, "50");
        var expired = await PostAsync(http, host.Address, body, "0");

        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.Status);
        Assert.Equal("[wait] did not finish within the caller's budget of 0.05 s (GraphPipe-Timeout)", timedOut.Text);
        Assert.Equal(HttpStatusCode.GatewayTimeout, expired.Status);
        Assert.StartsWith("[wait] did not start within the caller's budget of 0 s", expired.Text);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("123456789")]
    [InlineData("")]
    public async Task Budget_Malformed_BadRequestNamingTheHeader(string value)
    {
        await using var host = await GraphPipeStageHost.StartAsync(DelegateStage.Identity("id"), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient { Timeout = Limits.Step };
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>([1f], [1, 1, 1, 1])] });

        var response = await PostAsync(http, host.Address, body, value);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[id] header GraphPipe-Timeout:", response.Text);
    }

    private static Task<RawResponse> PostAsync(HttpClient http, Uri address, byte[] body, string budget)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/octet-stream");
        var message = new HttpRequestMessage(HttpMethod.Post, address) { Content = content };
        message.Headers.TryAddWithoutValidation(GraphPipeTimeoutHeader.Name, budget);
        return RawHttp.SendAsync(http, message, Ct);
    }

    /// <summary>Requests still running or queued in the host's stages (the in-flight gauges), once they settle.</summary>
    private static async Task<int> InFlightAsync(GraphPipeStageHost host)
    {
        var catalog = (GraphPipe.Server.Serving.StageCatalog)host.Services.GetService(typeof(GraphPipe.Server.Serving.StageCatalog))!;
        var waited = Stopwatch.StartNew();
        int busy;
        while ((busy = catalog.Stages.Sum(s => s.Running + s.Queued)) > 0 && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20, Ct);
        }

        return busy;
    }
}
