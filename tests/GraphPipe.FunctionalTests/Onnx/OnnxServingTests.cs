using System.Net;
using System.Text;
using System.Text.Json;

namespace GraphPipe.FunctionalTests;

/// <summary>Serving the tiny test models with real ONNX Runtime behind real Kestrel on loopback.</summary>
public sealed class OnnxServingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task InferAsync_IntraOpSpinningOff_SameOutputsAsWithSpinning()
    {
        float[] x = [-1f, 0.5f, 2f, -3f, 4f, 0f, 1f, -2f];
        using var spinning = new GraphPipe.Onnx.OnnxModelStage(new GraphPipe.Onnx.OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), IntraOpThreads = 2 });
        using var sleeping = new GraphPipe.Onnx.OnnxModelStage(new GraphPipe.Onnx.OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), IntraOpThreads = 2, IntraOpSpinning = false });
        var request = new GraphPipe.Stages.StageRequest(["x"], [Tensor.Create<float>(x, 2, 4)], ["y"], string.Empty);

        using var a = await spinning.InferAsync(request, Ct).AsTask().WaitAsync(Limits.Step, Ct);
        using var b = await sleeping.InferAsync(request, Ct).AsTask().WaitAsync(Limits.Step, Ct);

        Assert.True(b.IsSuccess);
        Assert.Equal(x.Select(v => (v * 2) + 1), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b.Outputs[0].Data.Span).ToArray());
        Assert.Equal(a.Outputs[0].Data.ToArray(), b.Outputs[0].Data.ToArray());
    }

    [Fact]
    public async Task GetMetadataAsync_AddMul_DescribesNamesTypesAndDynamicShapes()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);

        var metadata = await server.Client.GetMetadataAsync(Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal("add_mul", metadata.Name);
        Assert.False(string.IsNullOrEmpty(metadata.Server));
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal(TensorType.Float32, input.Type);
        Assert.Equal([-1L, 4L], input.Shape);
        var output = Assert.Single(metadata.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal(TensorType.Float32, output.Type);
        Assert.Equal([-1L, 4L], output.Shape);
    }

    [Fact]
    public async Task GetMetadataAsync_MultiIo_ListsInputsAndOutputsInModelOrder()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("multi_io.onnx").WaitAsync(Limits.Step, Ct);

        var metadata = await server.Client.GetMetadataAsync(Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(["a", "b", "k"], metadata.Inputs.Select(i => i.Name));
        Assert.Equal([TensorType.Float32, TensorType.Float32, TensorType.Int64], metadata.Inputs.Select(i => i.Type));
        Assert.Equal([-1L, 3L], metadata.Inputs[0].Shape);
        Assert.Equal([-1L, 1L], metadata.Inputs[2].Shape);
        Assert.Equal(["sum", "prod", "kx2"], metadata.Outputs.Select(o => o.Name));
        Assert.Equal([TensorType.Float32, TensorType.Float32, TensorType.Int64], metadata.Outputs.Select(o => o.Type));
    }

    [Fact]
    public async Task Get_AddMul_ReturnsMetadataAsJson()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);

        using var response = await server.Http.GetAsync(new Uri(server.Address, "/any/path"), Ct).WaitAsync(Limits.Step, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        Assert.Equal("add_mul", root.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("server").GetString()));
        var input = Assert.Single(root.GetProperty("inputs").EnumerateArray());
        Assert.Equal("x", input.GetProperty("name").GetString());
        Assert.Equal("float32", input.GetProperty("type").GetString());
        Assert.Equal([-1L, 4L], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var output = Assert.Single(root.GetProperty("outputs").EnumerateArray());
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.Equal("float32", output.GetProperty("type").GetString());
        Assert.Equal([-1L, 4L], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public async Task InferAsync_AddMul_ComputesTwoXPlusOne(int batch)
    {
        await using var server = await LoopbackServer.StartOnnxAsync("add_mul.onnx").WaitAsync(Limits.Step, Ct);
        var x = Enumerable.Range(0, batch * 4).Select(i => (i * 0.5f) - 3.25f).ToArray();

        var y = await server.Client.InferAsync(Tensor.Create<float>(x, batch, 4), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(TensorType.Float32, y.Type);
        Assert.Equal([batch, 4L], y.Shape);
        Assert.Equal(x.Select(v => (2 * v) + 1), y.ToArray<float>());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public async Task InferAsync_MultiIoNamedInputsOutOfOrder_ReturnsRequestedOutputsInRequestedOrder(int batch)
    {
        await using var server = await LoopbackServer.StartOnnxAsync("multi_io.onnx").WaitAsync(Limits.Step, Ct);
        var a = Enumerable.Range(0, batch * 3).Select(i => i + 1f).ToArray();
        var b = Enumerable.Range(0, batch * 3).Select(i => (i * 10f) - 7f).ToArray();
        var k = Enumerable.Range(0, batch).Select(i => (long)((i * 1_000_000_007L) - 3)).ToArray();

        var outputs = await server.Client.InferAsync(
            [
                new("b", Tensor.Create<float>(b, batch, 3)),
                new("a", Tensor.Create<float>(a, batch, 3)),
                new("k", Tensor.Create<long>(k, batch, 1)),
            ],
            ["kx2", "sum"],
            cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(2, outputs.Count);
        Assert.Equal(TensorType.Int64, outputs[0].Type);
        Assert.Equal([batch, 1L], outputs[0].Shape);
        Assert.Equal(k.Select(v => v * 2), outputs[0].ToArray<long>());
        Assert.Equal(TensorType.Float32, outputs[1].Type);
        Assert.Equal([batch, 3L], outputs[1].Shape);
        Assert.Equal(a.Zip(b, (p, q) => p + q), outputs[1].ToArray<float>());
    }

    [Fact]
    public async Task InferAsync_MultiIoDefaultNames_BindsInputsByPositionAndReturnsAllOutputsInModelOrder()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("multi_io.onnx").WaitAsync(Limits.Step, Ct);
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] b = [0.5f, -1, 2, 10, 0, -3];
        long[] k = [21, -4];

        var response = await server.Client.InferAsync(new InferRequest
        {
            InputNames = [],
            Inputs = [Tensor.Create<float>(a, 2, 3), Tensor.Create<float>(b, 2, 3), Tensor.Create<long>(k, 2, 1)],
            OutputNames = [],
        }, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Empty(response.Errors);
        Assert.Equal(3, response.Outputs.Count);
        Assert.Equal(a.Zip(b, (p, q) => p + q), response.Outputs[0].ToArray<float>());
        Assert.Equal(a.Zip(b, (p, q) => p * q), response.Outputs[1].ToArray<float>());
        Assert.Equal([42L, -8L], response.Outputs[2].ToArray<long>());
        Assert.Equal([2L, 1L], response.Outputs[2].Shape);
    }

    [Fact]
    public async Task InferAsync_EmptyInputNamesMixedWithNamedOnes_FillsEmptyNamesByPosition()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("multi_io.onnx").WaitAsync(Limits.Step, Ct);

        // Position 0 and 1 have no name, so they are a and b; k is named.
        var outputs = await server.Client.InferAsync(
            [
                new(string.Empty, Tensor.Create<float>([1f, 2f, 3f], 1, 3)),
                new(string.Empty, Tensor.Create<float>([4f, 5f, 6f], 1, 3)),
                new("k", Tensor.Create<long>([5L], 1, 1)),
            ],
            ["prod", "kx2"],
            cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([4f, 10f, 18f], outputs[0].ToArray<float>());
        Assert.Equal([10L], outputs[1].ToArray<long>());
    }

    [Fact]
    public async Task InferAsync_Strings_SameEchoesBytesAndUpperUpperCases()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("strings.onnx").WaitAsync(Limits.Step, Ct);
        string[] text = ["hello", "Mixed Case 123", "grüße aus köln", "日本語 text", ""];

        var outputs = await server.Client.InferAsync(
            [new("text", Tensor.FromStrings(text))],
            cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(2, outputs.Count);
        var same = outputs[0];
        Assert.Equal(TensorType.String, same.Type);
        Assert.Equal([(long)text.Length], same.Shape);
        for (var i = 0; i < text.Length; i++)
        {
            Assert.True(Encoding.UTF8.GetBytes(text[i]).AsSpan().SequenceEqual(same.Strings[i].Span), $"same[{i}] differs from the input bytes");
        }

        var upper = outputs[1];
        Assert.Equal(TensorType.String, upper.Type);
        Assert.Equal(text.Select(t => t.ToUpperInvariant()), upper.ToStringArray());
    }

    [Fact]
    public async Task InferAsync_Types_RoundTripsUInt8Float64Float16AndInt32()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("types.onnx").WaitAsync(Limits.Step, Ct);
        byte[] u8 = [0, 1, 127, 128, 254, 255];
        double[] f64 = [0.0, -0.0, double.Epsilon, -1e308, Math.PI, double.PositiveInfinity];
        Half[] f16 = [(Half)0.5f, (Half)(-2.25f), Half.MaxValue, Half.MinValue, Half.Epsilon, (Half)1000f];
        int[] i32 = [int.MinValue, -1, 0, 1, 65536, int.MaxValue];
        Tensor[] inputs =
        [
            Tensor.Create<byte>(u8, 3, 2),
            Tensor.Create<double>(f64, 3, 2),
            Tensor.Create<Half>(f16, 3, 2),
            Tensor.Create<int>(i32, 3, 2),
        ];

        var response = await server.Client.InferAsync(new InferRequest
        {
            InputNames = ["u8", "f64", "f16", "i32"],
            Inputs = inputs,
        }, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(4, response.Outputs.Count);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i].Type, response.Outputs[i].Type);
            Assert.Equal([3L, 2L], response.Outputs[i].Shape);
            Assert.True(inputs[i].Data.Span.SequenceEqual(response.Outputs[i].Data.Span), $"output {i} ({inputs[i].Type}) differs from its input");
        }

        Assert.Equal(f16, response.Outputs[2].ToArray<Half>());
    }
}
