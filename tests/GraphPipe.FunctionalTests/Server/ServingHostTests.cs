using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests.Server;

/// <summary>The serving host around test stages: stages by name, in-process chaining, health, Server-Timing, admission.</summary>
public sealed class ServingHostTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Post_SeveralStagesInOneHost_EachAnswersAtItsNameAndTheDefaultAtRoot()
    {
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("double", DelegateStage.Times("double", 2)).AddStage("triple", DelegateStage.Times("triple", 3)), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        var root = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 2), Ct).WaitAsync(Limits.Step, Ct);
        var triple = await RawHttp.PostAsync(http, new Uri(host.Address, "triple"), RawHttp.EncodeFloats(1, 2), Ct).WaitAsync(Limits.Step, Ct);
        var other = await RawHttp.PostAsync(http, new Uri(host.Address, "some/other/path"), RawHttp.EncodeFloats(1, 2), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([2f, 4f], Assert.Single(GraphPipeReader.ReadInferResponse(root.Body).Outputs).ToArray<float>());
        Assert.Equal([3f, 6f], Assert.Single(GraphPipeReader.ReadInferResponse(triple.Body).Outputs).ToArray<float>());
        Assert.Equal([2f, 4f], Assert.Single(GraphPipeReader.ReadInferResponse(other.Body).Outputs).ToArray<float>());
    }

    [Fact]
    public async Task Post_ColocatedChainedStages_CallEachOtherInProcessAndReportNextTime()
    {
        var tripleCalls = 0;
        var triple = new DelegateStage("triple", (request, _) =>
        {
            Interlocked.Increment(ref tripleCalls);
            return ValueTask.FromResult(StageResult.Success([Tensor.Create(request.Inputs[0].ToArray<float>().Select(v => v * 3).ToArray(), request.Inputs[0].Shape.ToArray())]));
        });
        await using var host = await GraphPipeStageHost.StartAsync(s => s
            .AddStage("triple", triple)
            .AddForwardingStage("double", DelegateStage.Times("double", 2), new ForwardingOptions { LocalNext = "triple" }, isDefault: true), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();

        var response = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 2), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal([6f, 12f], Assert.Single(GraphPipeReader.ReadInferResponse(response.Body).Outputs).ToArray<float>());
        Assert.Equal(1, tripleCalls);
        var timing = Assert.Single(response.Headers.GetValues("Server-Timing"));
        Assert.Matches(@"^decode;dur=[\d.]+, queue;dur=[\d.]+, run;dur=[\d.]+, next;dur=[\d.]+$", timing);
    }

    [Theory]
    [InlineData("/control/is_alive")]
    [InlineData("/v2/health/live")]
    [InlineData("/control/is_ready")]
    [InlineData("/v2/health/ready")]
    public async Task Get_HealthPath_AnswersHealthJsonNotMetadata(string path)
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);

        using var response = await server.Http.GetAsync(new Uri(server.Address, path), Ct).WaitAsync(Limits.Step, Ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        Assert.False(json.RootElement.TryGetProperty("inputs", out _), "a health path answered metadata");
    }

    [Fact]
    public async Task Get_MetricsWithTelemetryOff_Returns404NotMetadata()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);

        using var response = await server.Http.GetAsync(new Uri(server.Address, "metrics"), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("metrics are off on this host", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Ready_NextStageDown_DegradedButReadyUnlessConfiguredToFail()
    {
        var dead = new Uri($"http://127.0.0.1:{LoopbackPorts.Free()}/");
        async Task<(HttpStatusCode Status, string Body)> ReadyAsync(bool requireNext)
        {
            await using var host = await GraphPipeStageHost.StartAsync(
                s => s.AddForwardingStage("pre", DelegateStage.Identity("pre"), new ForwardingOptions { Next = dead }),
                configure: o => o.ReadinessRequiresNextStage = requireNext, cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
            using var http = new HttpClient();
            using var response = await http.GetAsync(new Uri(host.Address, "control/is_ready"), Ct).WaitAsync(Limits.Step, Ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
        }

        var lenient = await ReadyAsync(requireNext: false);
        var strict = await ReadyAsync(requireNext: true);

        Assert.Equal(HttpStatusCode.OK, lenient.Status);
        Assert.Contains("\"status\":\"Degraded\"", lenient.Body, StringComparison.Ordinal);
        Assert.Contains($"{dead} not answering", lenient.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, strict.Status);
    }

    [Fact]
    public async Task Stop_WithDrainDelay_ReadinessFailsAtOnceWhileRequestsAreStillServed()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity(), o => o.DrainDelay = TimeSpan.FromSeconds(2)).WaitAsync(Limits.Step, Ct);
        var stopping = server.StopAsync(Ct);

        using var ready = await server.Http.GetAsync(new Uri(server.Address, "control/is_ready"), Ct).WaitAsync(Limits.Step, Ct);
        using var readyV2 = await server.Http.GetAsync(new Uri(server.Address, "v2/health/ready"), Ct).WaitAsync(Limits.Step, Ct);
        using var live = await server.Http.GetAsync(new Uri(server.Address, "control/is_alive"), Ct).WaitAsync(Limits.Step, Ct);
        var infer = await RawHttp.PostAsync(server.Http, server.Address, RawHttp.EncodeFloats(5), Ct).WaitAsync(Limits.Step, Ct);
        var stillDraining = !stopping.IsCompleted;
        await stopping.WaitAsync(Limits.Step, Ct);

        Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable, await ready.Content.ReadAsStringAsync(Ct));
        Assert.Contains("stopping", await ready.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyV2.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, infer.Status);
        Assert.True(stillDraining, "the host stopped before the drain delay was over");
    }

    [Fact]
    public async Task Infer_OneRunningOneQueued_SecondWaitsAndSucceedsThirdGets503()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new DelegateStage("gated", async (request, ct) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(ct);
            return DelegateStage.Echo(request);
        });
        await using var server = await LoopbackServer.StartAsync(stage, o => { o.MaxConcurrentRequests = 1; o.MaxQueuedRequests = 1; }).WaitAsync(Limits.Step, Ct);
        var body = RawHttp.EncodeFloats(1);

        var first = RawHttp.PostAsync(server.Http, server.Address, body, Ct);
        await entered.Task.WaitAsync(Limits.Step, Ct);
        var second = RawHttp.PostAsync(server.Http, server.Address, body, Ct);
        await WaitUntilAsync(async () => (await ReadyBodyAsync(server)).Contains("\"queued\":\"1\"", StringComparison.Ordinal));
        var third = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);
        var secondDoneBeforeRelease = second.IsCompleted;
        release.TrySetResult();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.Status);
        Assert.False(secondDoneBeforeRelease, "the queued request did not wait");
        Assert.Equal(HttpStatusCode.OK, (await first.WaitAsync(Limits.Step, Ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await second.WaitAsync(Limits.Step, Ct)).Status);
    }

    [Fact]
    public async Task Infer_StageThrows_Returns500NamingTheStage()
    {
        var stage = new DelegateStage("faulty", (_, _) => throw new InvalidOperationException("boom " + new string('x', 5000)));
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);

        var response = await RawHttp.PostAsync(server.Http, server.Address, RawHttp.EncodeFloats(1), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.Status);
        Assert.StartsWith("[faulty] internal error: boom xxx", response.Text, StringComparison.Ordinal);
        Assert.True(response.Text.Length < 400, $"message of {response.Text.Length} chars");
    }

    [Fact]
    public async Task Infer_SlowUploadsHoldNoSlot_OthersServedAndTricklersGet408()
    {
        var stage = DelegateStage.Identity("guarded");
        await using var server = await LoopbackServer.StartAsync(stage, o =>
        {
            o.MaxConcurrentRequests = 2;
            o.MaxQueuedRequests = 4;
            o.BodyReadTimeout = TimeSpan.FromSeconds(3);
            o.MinRequestBodyBytesPerSecond = 0;
        }).WaitAsync(Limits.Step, Ct);
        var body = RawHttp.EncodeFloats(1, 2, 3);

        // Six uploads that announce a body and trickle it: before the fix each held a slot or a queue place.
        var tricklers = Enumerable.Range(0, 6).Select(_ => TrickleAsync(server.Address, body.Length + 1000)).ToArray();
        await Task.Delay(500, Ct);
        var others = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => RawHttp.PostAsync(server.Http, server.Address, body, Ct))).WaitAsync(Limits.Step, Ct);
        var trickled = await Task.WhenAll(tricklers).WaitAsync(Limits.Step, Ct);

        Assert.All(others, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(trickled, t => Assert.StartsWith("HTTP/1.1 408", t, StringComparison.Ordinal));
        Assert.Contains("[guarded] request body not received within 3 s", trickled[0], StringComparison.Ordinal);
    }

    private static async Task<string> TrickleAsync(Uri address, int contentLength)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(address.Host, address.Port, Ct);
        var stream = socket.GetStream();
        var head = Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Length: {contentLength}\r\n\r\n");
        await stream.WriteAsync(head, Ct);
        var buffer = new byte[4096];
        var read = stream.ReadAsync(buffer, Ct).AsTask();
        for (var i = 0; i < 100 && !read.IsCompleted; i++)
        {
            await stream.WriteAsync(new byte[] { 0 }, Ct);
            await Task.WhenAny(read, Task.Delay(100, Ct));
        }

        var n = await read.WaitAsync(Limits.Step, Ct);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    private static Task<string> ReadyBodyAsync(LoopbackServer server)
        => server.Http.GetStringAsync(new Uri(server.Address, "control/is_ready"), Ct);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Limits.Step;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Delay(20, Ct);
        }
    }
}
