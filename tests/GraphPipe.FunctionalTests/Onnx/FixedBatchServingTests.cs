using System.Net;
using GraphPipe.Client;
using GraphPipe.Onnx;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests;

/// <summary>
/// Models exported at batch 1 (every input and output fixed at 1 in dimension 0) served to requests of N rows:
/// the stage runs the model once per row and stacks the outputs.
/// </summary>
public sealed class FixedBatchServingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metadata_BatchOneModel_ReportsDimensionZeroAsAnyRows()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch.onnx").WaitAsync(Limits.Step, Ct);

        var metadata = await server.Client.GetMetadataAsync(Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([-1L, 4], Assert.Single(metadata.Inputs).Shape);
        Assert.Equal([-1L, 4], Assert.Single(metadata.Outputs).Shape);
        Assert.Contains("batch-1", metadata.Inputs[0].Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BatchOneModelGivenThreeRows_EachRowComputedAndStacked()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch.onnx").WaitAsync(Limits.Step, Ct);
        float[] x = [-1, 2, -3, 4, 5, -6, 7, -8, 0.5f, -0.5f, 9, -9];

        var response = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(x, 3, 4)] }, Ct).WaitAsync(Limits.Step, Ct);

        var y = Assert.Single(response.Outputs);
        Assert.Equal([3L, 4], y.Shape);
        Assert.Equal(x.Select(v => Math.Max(v, 0f)).ToArray(), y.ToArray<float>());
    }

    [Fact]
    public async Task Infer_BatchOneModelGivenZeroRows_ReturnsEmptyOutputOfZeroRows()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch.onnx").WaitAsync(Limits.Step, Ct);

        var response = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>([], 0, 4)] }, Ct).WaitAsync(Limits.Step, Ct);

        var y = Assert.Single(response.Outputs);
        Assert.Equal([0L, 4], y.Shape);
        Assert.Empty(y.ToArray<float>());
    }

    [Fact]
    public async Task Infer_BatchOneModelGivenWrongColumns_Returns400NamingTheShapes()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch.onnx").WaitAsync(Limits.Step, Ct);

        var error = await Assert.ThrowsAsync<GraphPipeException>(
            () => server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(new float[10], 2, 5)] }, Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains("'x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("[-1,4]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[2,5]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_TwoInputBatchOneModelGivenTwoRowsEach_AddsRowByRow()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch_pair.onnx").WaitAsync(Limits.Step, Ct);
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] b = [10, 20, 30, 40, 50, 60];

        var response = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(a, 2, 3), Tensor.Create<float>(b, 2, 3)] }, Ct).WaitAsync(Limits.Step, Ct);

        var s = Assert.Single(response.Outputs);
        Assert.Equal([2L, 3], s.Shape);
        Assert.Equal([11f, 22, 33, 44, 55, 66], s.ToArray<float>());
    }

    /// <summary>
    /// Inputs of different row sizes (float32 [1,3] is 12 bytes a row, int64 [1,1] is 8): each row of each
    /// input is found at its own offset. Expected values are computed here, row by row.
    /// </summary>
    [Fact]
    public async Task Infer_BatchOneModelWithInputsOfDifferentRowSizes_EachInputSplitAtItsOwnRowSize()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch_mixed.onnx").WaitAsync(Limits.Step, Ct);
        const int rows = 4;
        float[] a = [1, 2, 3, 10, 20, 30, 100, 200, 300, -1, -2, -3];
        long[] k = [7, -40, 1_000_003, 5];

        var response = await server.Client.InferAsync(
            new InferRequest { Inputs = [Tensor.Create<float>(a, rows, 3), Tensor.Create<long>(k, rows, 1)] }, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(2, response.Outputs.Count);
        var s = response.Outputs[0];
        var kx3 = response.Outputs[1];
        Assert.Equal([(long)rows, 3], s.Shape);
        Assert.Equal([(long)rows, 1], kx3.Shape);
        var sums = s.ToArray<float>();
        var triples = kx3.ToArray<long>();
        for (var row = 0; row < rows; row++)
        {
            for (var col = 0; col < 3; col++)
            {
                Assert.Equal(a[(row * 3) + col] + (float)k[row], sums[(row * 3) + col]);
            }

            Assert.Equal(k[row] * 3, triples[row]);
        }
    }

    [Fact]
    public async Task Infer_TwoInputBatchOneModelGivenDifferentRowCounts_Returns400NamingBothShapes()
    {
        await using var server = await LoopbackServer.StartOnnxAsync("fixed_batch_pair.onnx").WaitAsync(Limits.Step, Ct);

        var error = await Assert.ThrowsAsync<GraphPipeException>(() => server.Client.InferAsync(
            new InferRequest { Inputs = [Tensor.Create<float>(new float[6], 2, 3), Tensor.Create<float>(new float[9], 3, 3)] }, Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains("dimension 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("'a' [2,3]", error.Message, StringComparison.Ordinal);
        Assert.Contains("'b' [3,3]", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The NuGet ResNet18 backbone as shipped (input fixed at [1,3,224,224]) answers a batch of two images with each image's own features.</summary>
    [Fact]
    public async Task Infer_NuGetResNet18GivenTwoImages_RowsEqualSingleImageResults()
    {
        var path = Path.Combine(Demo.SourceDirectory, Demo.BackboneFileName);
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1 });
        await using var server = await LoopbackServer.StartAsync(stage).WaitAsync(Limits.Step, Ct);
        var per = 3 * 224 * 224;
        var pixels = new float[2 * per];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = (i * 37 % 251) - 120f;

        var both = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(pixels, 2, 3, 224, 224)] }, Ct).WaitAsync(Limits.Step, Ct);
        var first = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(pixels.AsSpan(0, per), 1, 3, 224, 224)] }, Ct).WaitAsync(Limits.Step, Ct);
        var second = await server.Client.InferAsync(new InferRequest { Inputs = [Tensor.Create<float>(pixels.AsSpan(per), 1, 3, 224, 224)] }, Ct).WaitAsync(Limits.Step, Ct);

        var stacked = Assert.Single(both.Outputs);
        Assert.Equal(2, stacked.Shape[0]);
        Assert.Equal(first.Outputs[0].Shape.AsSpan()[1..].ToArray(), stacked.Shape.AsSpan()[1..].ToArray());
        var rows = stacked.ToArray<float>();
        var half = rows.Length / 2;
        Assert.Equal(first.Outputs[0].ToArray<float>(), rows[..half]);
        Assert.Equal(second.Outputs[0].ToArray<float>(), rows[half..]);
        Assert.NotEqual(rows[..half], rows[half..]);
    }
}
