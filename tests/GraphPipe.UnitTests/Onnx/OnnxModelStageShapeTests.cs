using System.Runtime.InteropServices;
using GraphPipe.Onnx;
using GraphPipe.Stages;
using static GraphPipe.UnitTests.TinyOnnx;

namespace GraphPipe.UnitTests;

/// <summary>
/// <see cref="OnnxModelStage"/> on models written here (<see cref="TinyOnnx"/>) for the shapes the committed test
/// models lack: a batch-1 model whose rows come out in different shapes or fail, a scalar input, no inputs,
/// string, bool and non-tensor values, a zero-sized dimension. Real ONNX Runtime sessions throughout.
/// </summary>
public sealed class OnnxModelStageShapeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Batch 1: <c>k</c> int64 [1,1] in, <c>z</c> uint8 [1,k] of sevens out (ConstantOfShape of [1, k]), so each
    /// row's output width is that row's k, and a negative k is refused by the runtime.
    /// </summary>
    private static byte[] RowShapes() => Model(
        [new("k", Int64Type, 1, 1)],
        [new("z", UInt8Type, 1, "M")],
        [
            new("Reshape", ["k", "flat"], ["kf"]),
            new("Concat", ["one", "kf"], ["shape"], IntAttribute("axis", 0)),
            new("ConstantOfShape", ["shape"], ["z"], TensorAttribute("value", Tensor("value", UInt8Type, [1], [7]))),
        ],
        [Tensor("flat", Int64Type, [1], Int64s(1)), Tensor("one", Int64Type, [1], Int64s(1))],
        version: 42,
        doc: "rows of k sevens");

    private static OnnxModelStage Load(TinyOnnx.File file) => new(new OnnxModelOptions { ModelPath = file.Path, IntraOpThreads = 1 });

    private static async Task<StageResult> InferAsync(OnnxModelStage stage, string[] names, Tensor[] inputs, params string[] outputs)
        => await stage.InferAsync(new StageRequest(names, inputs, outputs, string.Empty), Ct).AsTask().WaitAsync(Wait, Ct);

    [Fact]
    public async Task InferAsync_BatchOneRowsOfTheSameShape_Stacked()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["k"], [Tensor.Create<long>([2, 2, 2], 3, 1)], "z");

        Assert.True(result.IsSuccess, result.Error?.Message);
        var z = Assert.Single(result.Outputs);
        Assert.Equal(TensorType.UInt8, z.Type);
        Assert.Equal([3L, 2], z.Shape);
        Assert.Equal(Enumerable.Repeat((byte)7, 6), z.Data.ToArray());
    }

    [Fact]
    public async Task InferAsync_BatchOneRowsComingOutInDifferentShapes_InvalidInputNamingBoth()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["k"], [Tensor.Create<long>([2, 2, 3], 3, 1)], "z");

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("output 'z': row 2 came out [1,3], row 0 [1,2]; rows of different shapes cannot be stacked", result.Error?.Message);
    }

    [Fact]
    public async Task InferAsync_BatchOneRowTheRuntimeRefuses_InvalidInputNamingTheRow()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["k"], [Tensor.Create<long>([1, -5], 2, 1)], "z");

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.StartsWith("model rejected row 1 of the inputs: ", result.Error?.Message, StringComparison.Ordinal);
        Assert.True(result.Error!.Message.Length > "model rejected row 1 of the inputs: ".Length);
    }

    [Fact]
    public async Task InferAsync_BatchOneZeroRows_EmptyOutputWithDynamicDimensionsAsZero()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["k"], [Tensor.Create<long>([], 0, 1)], "z");

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([0L, 0], result.Outputs[0].Shape);
        Assert.Equal(TensorType.UInt8, result.Outputs[0].Type);
    }

    [Fact]
    public async Task InferAsync_BatchOneRowsStackingPastTheLargestArray_InvalidInputBeforeRunningTheRest()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);
        const int rows = 1 << 20;
        var k = new long[rows];
        Array.Fill(k, 2048);

        // 2048 bytes a row * 2^20 rows = 2 GiB, past Array.MaxLength: refused after row 0, nothing allocated for it.
        using var result = await InferAsync(stage, ["k"], [Tensor.Create<long>(k, rows, 1)], "z");

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("output 'z' of 1048576 rows would take 2147483648 bytes, more than one tensor can hold; send fewer rows", result.Error?.Message);
    }

    [Fact]
    public void Metadata_ModelWithVersionAndDocString_ReportsThem()
    {
        using var file = new TinyOnnx.File(RowShapes());
        using var stage = Load(file);

        Assert.Equal("42", stage.Metadata.Version);
        Assert.Equal("rows of k sevens", stage.Metadata.Description);
        Assert.Equal([-1L, 1], stage.Metadata.Inputs[0].Shape);
        Assert.Equal([-1L, -1], stage.Metadata.Outputs[0].Shape);
    }

    [Fact]
    public async Task InferAsync_ScalarInput_NotSplitAndRunAsIs()
    {
        // s float [] -> y float [1]: a scalar has no dimension 0, so the model is not batch-1 whatever its output.
        using var file = new TinyOnnx.File(Model(
            [new("s", FloatType)],
            [new("y", FloatType, 1)],
            [new("Reshape", ["s", "one"], ["y"])],
            [Tensor("one", Int64Type, [1], Int64s(1))]));
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["s"], [Tensor.Scalar(2.5f)], "y");

        Assert.Empty(stage.Metadata.Inputs[0].Shape);
        Assert.Equal([1L], stage.Metadata.Outputs[0].Shape);
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([1L], result.Outputs[0].Shape);
        Assert.Equal([2.5f], MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
    }

    [Fact]
    public async Task InferAsync_ModelWithoutInputs_NotSplitAndAnswersItsConstant()
    {
        using var file = new TinyOnnx.File(Model(
            [],
            [new("y", FloatType, 1, 2)],
            [new("Constant", [], ["y"], TensorAttribute("value", Tensor("c", FloatType, [1, 2], [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)])))]));
        using var stage = Load(file);

        using var result = await InferAsync(stage, [], [], "y");

        Assert.Empty(stage.Metadata.Inputs);
        Assert.Equal([1L, 2], stage.Metadata.Outputs[0].Shape);
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([1L, 2], result.Outputs[0].Shape);
        Assert.Equal([1.5f, -2f], MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
    }

    [Fact]
    public async Task InferAsync_StringModelFixedAtOne_NotSplit()
    {
        using var file = new TinyOnnx.File(Model(
            [new("text", StringType, 1)],
            [new("same", StringType, 1)],
            [new("Identity", ["text"], ["same"])]));
        using var stage = Load(file);

        using var one = await InferAsync(stage, ["text"], [Tensor.FromStrings("héllo")], "same");
        using var two = await InferAsync(stage, ["text"], [Tensor.FromStrings("a", "b")], "same");

        Assert.Equal([1L], stage.Metadata.Inputs[0].Shape);
        Assert.Equal(["héllo"], one.Outputs[0].ToStringArray());
        Assert.Equal(StageErrorKind.InvalidInput, two.Error?.Kind);
    }

    [Fact]
    public void Metadata_SequenceOutput_NonTensorWithoutShapeAndModelNotSplit()
    {
        using var file = new TinyOnnx.File(Model(
            [new("x", FloatType, 1, 2)],
            [new("y", FloatType, 1, 2)],
            [new("Identity", ["x"], ["y"]), new("SequenceConstruct", ["x"], ["seq"])],
            sequenceOutputs: [new("seq", FloatType, 1, 2)]));
        using var stage = Load(file);

        var seq = stage.Metadata.Outputs.Single(o => o.Name == "seq");

        Assert.Equal(TensorType.Null, seq.Type);
        Assert.Empty(seq.Shape);
        Assert.StartsWith("non-tensor ", seq.Description, StringComparison.Ordinal);
        Assert.Equal([1L, 2], stage.Metadata.Inputs[0].Shape);
    }

    [Fact]
    public async Task InferAsync_BoolBatchOneModel_SentAsUInt8AndSplitRowByRow()
    {
        using var file = new TinyOnnx.File(Model(
            [new("b", BoolType, 1, 2)],
            [new("nb", BoolType, 1, 2)],
            [new("Not", ["b"], ["nb"])]));
        using var stage = Load(file);

        using var result = await InferAsync(stage, ["b"], [Tensor.Create<byte>([1, 0, 0, 1, 1, 1], 3, 2)], "nb");

        var b = stage.Metadata.Inputs[0];
        Assert.Equal(TensorType.UInt8, b.Type);
        Assert.Equal([-1L, 2], b.Shape);
        Assert.Equal("bool (sent as uint8); batch-1 model: rows run one at a time", b.Description);
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([3L, 2], result.Outputs[0].Shape);
        Assert.Equal(new byte[] { 0, 1, 1, 0, 0, 0 }, result.Outputs[0].Data.ToArray());
    }

    [Fact]
    public void Metadata_ZeroSizedDimension_ReportedAsZeroNotAsAny()
    {
        using var file = new TinyOnnx.File(Model(
            [new("e", FloatType, "N", 0)],
            [new("f", FloatType, "N", 0)],
            [new("Identity", ["e"], ["f"])]));
        using var stage = Load(file);

        Assert.Equal([-1L, 0], stage.Metadata.Inputs[0].Shape);
        Assert.Equal([-1L, 0], stage.Metadata.Outputs[0].Shape);
    }
}
