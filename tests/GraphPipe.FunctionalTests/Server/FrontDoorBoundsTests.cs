using System.Net;
using GraphPipe.TestMessages;

namespace GraphPipe.FunctionalTests;

/// <summary>Hostile but small requests get a short 400 that names the stage and the field, over real HTTP.</summary>
public sealed class FrontDoorBoundsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Infer_StringTensorAliased40Times_Returns400NamingTheField()
    {
        await using var server = await LoopbackServer.StartAsync(DelegateStage.Identity()).WaitAsync(Limits.Step, Ct);
        var body = AliasedRequests.StringTensor(stringRefs: 250_000, tensorRefs: 40);

        var response = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[identity] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("input_tensors[", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_MegabyteInputName_Returns400UnderOneKbNamingStageAndField()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);
        var body = RawRequests.InferWithRawTensor(new string('n', 1 << 20), (byte)TensorType.Float32, [1, 4], new byte[16]);

        var response = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.True(response.Text.Length < 1024, $"{response.Text.Length} chars");
        Assert.StartsWith("[add_mul] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("input name", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_MillionDimensionShape_Returns400UnderOneKbNamingStageAndField()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);
        var body = RawRequests.InferWithRawTensor("x", (byte)TensorType.Float32, Enumerable.Repeat(1L, 1_000_000).ToArray(), new byte[4]);

        var response = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.True(response.Text.Length < 1024, $"{response.Text.Length} chars");
        Assert.StartsWith("[add_mul] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("input_tensors[0].shape", response.Text, StringComparison.Ordinal);
    }
}
