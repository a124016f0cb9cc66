using System.Net;
using System.Net.Http.Headers;
using GraphPipe.Client;
using GraphPipe.Server;
using GraphPipe.Wire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests;

/// <summary>Every failure answers with the right HTTP status and a message that names what is wrong.</summary>
public sealed class ErrorPathTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>POSTs <paramref name="body"/> to a fresh loopback server for <paramref name="model"/> and returns the answer.</summary>
    private static async Task<RawResponse> PostToModelAsync(string model, byte[] body, Action<GraphPipeServerOptions>? configure = null, Action<GraphPipe.Onnx.OnnxModelOptions>? configureModel = null)
    {
        await using var server = await LoopbackServer.StartOnnxAsync(model, configure, configureModel).WaitAsync(Limits.Step, Ct);
        return await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);
    }

    [Fact]
    public async Task Infer_WrongElementType_Returns400NamingInputAndBothTypes()
    {
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<int>([1, 2, 3, 4], 1, 4)] });

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[add_mul] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("'x'", response.Text, StringComparison.Ordinal);
        Assert.Contains("float32", response.Text, StringComparison.Ordinal);
        Assert.Contains("int32", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_FixedBatchRowSplitOffGivenTwoRows_Returns400NamingExpectedAndReceivedShapes()
    {
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[8], 2, 4)] });

        var response = await PostToModelAsync("fixed_batch.onnx", body, configureModel: o => o.SplitFixedBatch = false);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[fixed_batch] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("'x'", response.Text, StringComparison.Ordinal);
        Assert.Contains("[1,4]", response.Text, StringComparison.Ordinal);
        Assert.Contains("[2,4]", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_AddMulGivenFiveColumns_Returns400NamingExpectedAndReceivedShapes()
    {
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[10], 2, 5)] });

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("'x'", response.Text, StringComparison.Ordinal);
        Assert.Contains("[-1,4]", response.Text, StringComparison.Ordinal);
        Assert.Contains("[2,5]", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_UnknownOutputName_Returns400NamingIt()
    {
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[4], 1, 4)], OutputNames = ["y", "no_such_output"] });

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("'no_such_output'", response.Text, StringComparison.Ordinal);
        Assert.Contains("y", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_EmptyOutputName_Returns400SayingTheNameIsEmpty()
    {
        var body = RawHttp.Encode(new InferRequest
        {
            InputNames = ["a", "b", "k"],
            Inputs = [Tensor.Create<float>(new float[3], 1, 3), Tensor.Create<float>(new float[3], 1, 3), Tensor.Create<long>([1L], 1, 1)],
            OutputNames = ["sum", string.Empty],
        });

        var response = await PostToModelAsync("multi_io.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("output name 1 is empty", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_UnknownInputName_Returns400NamingItAndTheRealInputs()
    {
        var body = RawHttp.Encode(new InferRequest { InputNames = ["not_x"], Inputs = [Tensor.Create<float>(new float[4], 1, 4)] });

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("'not_x'", response.Text, StringComparison.Ordinal);
        Assert.Contains("x: float32[-1,4]", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_MultiIoWithoutK_Returns400NamingTheMissingInput()
    {
        var body = RawHttp.Encode(new InferRequest
        {
            InputNames = ["a", "b"],
            Inputs = [Tensor.Create<float>(new float[3], 1, 3), Tensor.Create<float>(new float[3], 1, 3)],
        });

        var response = await PostToModelAsync("multi_io.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("missing", response.Text, StringComparison.Ordinal);
        Assert.Contains("k: int64[-1,1]", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_NoInputTensors_Returns400ListingTheInputs()
    {
        var body = RawHttp.Encode(new InferRequest());

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("no input tensors", response.Text, StringComparison.Ordinal);
        Assert.Contains("x: float32[-1,4]", response.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(1000)]
    public async Task Post_RandomBytes_Returns400SayingTheMessageIsMalformed(int length)
    {
        var body = new byte[length];
        new Random(4711 + length).NextBytes(body);

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[add_mul] Malformed GraphPipe message", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_TensorWhoseByteSizeOverflows_Returns400SayingTheDataDoesNotMatchTheShape()
    {
        // 2^60 x 4 float32 elements need 2^64 bytes: a 64-bit product wraps to 0, which an empty data vector "matches".
        var body = RawRequests.InferWithRawTensor("x", (byte)TensorType.Float32, [1L << 60, 4], []);

        var response = await PostToModelAsync("add_mul.onnx", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("Malformed GraphPipe message", response.Text, StringComparison.Ordinal);
        Assert.Contains("[1152921504606846976,4]", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_OversizedBodyWithContentLength_Returns413MentioningTheLimit()
    {
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[400 * 4], 400, 4)] });
        Assert.True(body.Length > 4096);

        var response = await PostToModelAsync("add_mul.onnx", body, o => o.MaxRequestBytes = 4096);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.StartsWith("[add_mul] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("limit of 4096 bytes", response.Text, StringComparison.Ordinal);
        Assert.Contains($"request body of {body.Length} bytes", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_OversizedChunkedBody_Returns413MentioningTheLimit()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx", o => o.MaxRequestBytes = 4096).WaitAsync(Limits.Step, Ct);
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[400 * 4], 400, 4)] });
        var content = new StreamContent(new NonSeekableStream(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        Assert.Null(content.Headers.ContentLength);
        var request = new HttpRequestMessage(HttpMethod.Post, server.Address) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await RawHttp.SendAsync(server.Http, request, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.StartsWith("[add_mul] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("more than 4096 bytes", response.Text, StringComparison.Ordinal);
        Assert.Contains("limit of 4096 bytes", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_BodyJustUnderTheLimit_IsServed()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx", o => o.MaxRequestBytes = 4096).WaitAsync(Limits.Step, Ct);
        var x = Enumerable.Range(0, 200 * 4).Select(i => (float)i).ToArray();
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(x, 200, 4)] });
        Assert.InRange(body.Length, 3200, 4096);
        var content = new StreamContent(new NonSeekableStream(body));
        var request = new HttpRequestMessage(HttpMethod.Post, server.Address) { Content = content };

        var response = await RawHttp.SendAsync(server.Http, request, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var y = Assert.Single(GraphPipeReader.ReadInferResponse(response.Body).Outputs);
        Assert.Equal(x.Select(v => (2 * v) + 1), y.ToArray<float>());
    }

    [Fact]
    public async Task Put_AnyPath_Returns405AllowingGetHeadPost()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri(server.Address, "/some/path")) { Content = new ByteArrayContent([1, 2, 3]) };

        var response = await RawHttp.SendAsync(server.Http, request, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.Status);
        Assert.Contains("PUT", response.Text, StringComparison.Ordinal);
        Assert.Contains("POST", response.ContentHeaders.Allow);
    }

    [Fact]
    public async Task InferAsync_ServerAnswers400_ThrowsGraphPipeExceptionWithStatusAndRemoteMessage()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);

        var ex = await Assert.ThrowsAsync<GraphPipeException>(
            () => server.Client.InferAsync(Tensor.Create<int>([1, 2, 3, 4], 1, 4), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.StartsWith("[add_mul] ", ex.RemoteMessage, StringComparison.Ordinal);
        Assert.Contains("int32", ex.RemoteMessage, StringComparison.Ordinal);
        Assert.Contains("int32", ex.Message, StringComparison.Ordinal);
        Assert.Equal(server.Address, ex.Endpoint);
        Assert.False(ex.IsTimeout);
    }

    [Fact]
    public async Task InferAsync_200WithErrorsVector_ThrowsGraphPipeExceptionCarryingTheErrors()
    {
        var payload = new GraphPipeWriter().WriteInferResponse([], [new GraphPipeError(1, "boom")]).ToArray();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.MapPost("/{**path}", () => Results.Bytes(payload, "application/octet-stream"));
        await app.StartAsync(Ct).WaitAsync(Limits.Step, Ct);
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, address);

            var ex = await Assert.ThrowsAsync<GraphPipeException>(
                () => client.InferAsync(Tensor.Create<float>(new float[4], 1, 4), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

            Assert.Equal(HttpStatusCode.OK, ex.StatusCode);
            Assert.Equal("boom", ex.RemoteMessage);
            Assert.Contains("boom", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync(Ct).WaitAsync(Limits.Step, Ct);
        }
    }

    [Fact]
    public async Task InferAsync_UnreachableUrl_ThrowsGraphPipeExceptionWithoutStatus()
    {
        using var http = new HttpClient();
        var client = new GraphPipeClient(http, new Uri("http://127.0.0.1:1/"));

        var ex = await Assert.ThrowsAsync<GraphPipeException>(
            () => client.InferAsync(Tensor.Create<float>(new float[4], 1, 4), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.Null(ex.StatusCode);
        Assert.False(ex.IsTimeout);
        Assert.Contains("could not be reached", ex.Message, StringComparison.Ordinal);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task InferAsync_StageSlowerThanClientTimeout_ThrowsGraphPipeExceptionWithIsTimeout()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stage = new DelegateStage("slow", async (request, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                cancelled.TrySetResult();
            }

            return DelegateStage.Echo(request);
        });
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);
        var client = new GraphPipeClient(server.Http, server.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromMilliseconds(300) });

        var ex = await Assert.ThrowsAsync<GraphPipeException>(
            () => client.InferAsync(Tensor.Create<float>(new float[4], 1, 1, 2, 2), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.True(ex.IsTimeout);
        Assert.Null(ex.StatusCode);
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
        // The client hanging up cancels the stage's work on the server.
        await cancelled.Task.WaitAsync(Limits.Step, Ct);
    }
}
