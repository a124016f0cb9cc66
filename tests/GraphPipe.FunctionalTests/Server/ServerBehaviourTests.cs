using System.Net;
using GraphPipe.Client;
using GraphPipe.Stages;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests;

/// <summary>The front door's own behaviour (limits, timeouts, shutdown, routing) around test stages.</summary>
public sealed class ServerBehaviourTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Tensor SmallInput() => Tensor.Create<float>([1f, 2f, 3f, 4f], 1, 1, 2, 2);

    [Fact]
    public async Task Infer_StageRunsPastRequestTimeout_Returns504AndCancelsTheStage()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new DelegateStage("slow", async (request, ct) =>
        {
            using var registration = ct.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, ct);
            return DelegateStage.Echo(request);
        });
        await using var server = await LoopbackServer.StartAsync(stage, o => o.RequestTimeout = TimeSpan.FromMilliseconds(200)).WaitAsync(Limits.Step, Ct);

        var response = await RawHttp.PostAsync(server.Http, server.Address, RawHttp.Encode(new InferRequest { Inputs = [SmallInput()] }), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.Status);
        Assert.Equal("[slow] did not finish within 0.2 s (RequestTimeout)", response.Text);
        Assert.True(cancelled.Task.IsCompleted, "the stage's token was not cancelled");
    }

    [Fact]
    public async Task Infer_QueueFull_Returns503WithRetryAfterWhileTheFirstRequestCompletes()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new DelegateStage("gated", async (request, ct) =>
        {
            entered.TrySetResult();
            await release.Task.WaitAsync(ct);
            return DelegateStage.Echo(request);
        });
        await using var server = await LoopbackServer.StartAsync(stage, o =>
        {
            o.MaxConcurrentRequests = 1;
            o.MaxQueuedRequests = 0;
        }).WaitAsync(Limits.Step, Ct);
        var body = RawHttp.Encode(new InferRequest { Inputs = [SmallInput()] });

        var first = RawHttp.PostAsync(server.Http, server.Address, body, Ct);
        try
        {
            await entered.Task.WaitAsync(Limits.Step, Ct);
            var second = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, second.Status);
            Assert.StartsWith("[gated] server busy", second.Text, StringComparison.Ordinal);
            Assert.Equal("1", Assert.Single(second.Headers.GetValues("Retry-After")));
        }
        finally
        {
            release.TrySetResult();
        }

        var firstResponse = await first.WaitAsync(Limits.Step, Ct);
        Assert.Equal(HttpStatusCode.OK, firstResponse.Status);
        Assert.Equal([1f, 2f, 3f, 4f], Assert.Single(GraphPipeReader.ReadInferResponse(firstResponse.Body).Outputs).ToArray<float>());
    }

    [Fact]
    public async Task StopAsync_RequestInFlight_RequestStillCompletesWithItsOutput()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new DelegateStage("draining", async (request, ct) =>
        {
            entered.TrySetResult();
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            return DelegateStage.Echo(request);
        });
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);
        var input = Tensor.Create<float>([5f, -6f, 7.5f, 8f], 1, 1, 2, 2);

        var inFlight = server.Client.InferAsync(input, cancellationToken: Ct);
        await entered.Task.WaitAsync(Limits.Step, Ct);
        var stopping = server.StopAsync(Ct);
        var output = await inFlight.WaitAsync(Limits.Step, Ct);
        await stopping.WaitAsync(Limits.Step, Ct);

        Assert.Equal([1L, 1L, 2L, 2L], output.Shape);
        Assert.Equal([5f, -6f, 7.5f, 8f], output.ToArray<float>());
    }

    [Fact]
    public async Task Post_ArbitraryPath_ServesInferenceAndMetadata()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);
        var client = server.Client.WithEndpoint(new Uri(server.Address, "/foo/bar"));

        var output = await client.InferAsync(SmallInput(), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        var metadata = await client.GetMetadataAsync(Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([1f, 2f, 3f, 4f], output.ToArray<float>());
        Assert.Equal("identity", metadata.Name);
    }

    [Fact]
    public async Task Post_MetadataRequest_ReturnsTheStageMetadata()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);

        var response = await RawHttp.PostAsync(server.Http, server.Address, RawHttp.EncodeMetadataRequest(), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var metadata = GraphPipeReader.ReadMetadataResponse(response.Body);
        Assert.Equal("identity", metadata.Name);
        Assert.Equal("1", metadata.Version);
        Assert.False(string.IsNullOrEmpty(metadata.Server), "the front door fills in a server name when the stage gives none");
        Assert.Equal("in", Assert.Single(metadata.Inputs).Name);
        Assert.Equal([-1L, -1L, -1L, -1L], metadata.Inputs[0].Shape);
        Assert.Equal("out", Assert.Single(metadata.Outputs).Name);
    }

    [Fact]
    public async Task Post_RequestWithTypeNone_ReturnsMetadataLikeTheGoServer()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);

        var response = await RawHttp.PostAsync(server.Http, server.Address, RawRequests.EmptyRequest(), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var metadata = GraphPipeReader.ReadMetadataResponse(response.Body);
        Assert.Equal("identity", metadata.Name);
        Assert.Equal("in", Assert.Single(metadata.Inputs).Name);
    }

    [Fact]
    public async Task Infer_IdentityOfImageSizedTensor_PreservesEveryByte()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);
        // Random bits, so NaN payloads, denormals and negative zeros all have to survive untouched.
        var bytes = new byte[1 * 3 * 224 * 224 * sizeof(float)];
        new Random(224).NextBytes(bytes);
        var input = Tensor.FromBytes(TensorType.Float32, [1, 3, 224, 224], bytes);

        var output = await server.Client.InferAsync(input, cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(TensorType.Float32, output.Type);
        Assert.Equal([1L, 3L, 224L, 224L], output.Shape);
        Assert.True(bytes.AsSpan().SequenceEqual(output.Data.Span), "the echoed tensor differs from the one sent");
    }

    [Fact]
    public async Task Infer_StageThrows_Returns500NamingTheFault()
    {
        var stage = new DelegateStage("faulty", (_, _) => throw new InvalidOperationException("wheels came off"));
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);

        var ex = await Assert.ThrowsAsync<GraphPipeException>(
            () => server.Client.InferAsync(SmallInput(), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Equal("[faulty] internal error: wheels came off", ex.RemoteMessage);
    }

    [Theory]
    [InlineData(StageErrorKind.InvalidInput, HttpStatusCode.BadRequest)]
    [InlineData(StageErrorKind.Upstream, HttpStatusCode.BadGateway)]
    [InlineData(StageErrorKind.Unavailable, HttpStatusCode.ServiceUnavailable)]
    [InlineData(StageErrorKind.Timeout, HttpStatusCode.GatewayTimeout)]
    [InlineData(StageErrorKind.Internal, HttpStatusCode.InternalServerError)]
    public async Task Infer_StageReportsFailure_MapsKindToStatusAndPrefixesStageName(StageErrorKind kind, HttpStatusCode expected)
    {
        var stage = new DelegateStage("failing", (_, _) => ValueTask.FromResult(StageResult.Failure(kind, $"reason is {kind}")));
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);

        var response = await RawHttp.PostAsync(server.Http, server.Address, RawHttp.Encode(new InferRequest { Inputs = [SmallInput()] }), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(expected, response.Status);
        Assert.Equal($"[failing] reason is {kind}", response.Text);
    }
}
