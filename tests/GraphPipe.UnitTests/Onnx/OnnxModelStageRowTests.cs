using System.Runtime.InteropServices;
using GraphPipe.Onnx;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>
/// <see cref="OnnxModelStage"/> in process: real ONNX Runtime sessions on the tiny models of tests/assets/models
/// (see its README for what each computes). Expected values are computed here from the models' formulas.
/// The functional tests serve the same models over Kestrel (OnnxServingTests, FixedBatchServingTests).
/// </summary>
public sealed class OnnxModelStageRowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "models", name);

    private static OnnxModelStage Load(string model, bool split = true, int engines = 1)
        => new(new OnnxModelOptions { ModelPath = ModelPath(model), IntraOpThreads = 1, SplitFixedBatch = split, EngineCount = engines });

    private static StageRequest Request(string[] names, Tensor[] inputs, params string[] outputs) => new(names, inputs, outputs, string.Empty);

    private static async Task<StageResult> InferAsync(OnnxModelStage stage, StageRequest request)
        => await stage.InferAsync(request, Ct).AsTask().WaitAsync(Wait, Ct);

    private static T[] Values<T>(Tensor tensor) where T : unmanaged => MemoryMarshal.Cast<byte, T>(tensor.Data.Span).ToArray();

    private static float[] Floats(int count, Func<int, float> f) => Enumerable.Range(0, count).Select(f).ToArray();

    [Fact]
    public void Metadata_BatchOneModel_DimensionZeroAnyRowsWithRowByRowDescription()
    {
        using var stage = Load("fixed_batch_mixed.onnx");

        var inputs = stage.Metadata.Inputs;
        var outputs = stage.Metadata.Outputs;

        Assert.Equal(["a", "k"], inputs.Select(i => i.Name));
        Assert.Equal([-1L, 3], inputs[0].Shape);
        Assert.Equal([-1L, 1], inputs[1].Shape);
        Assert.Equal([-1L, 3], outputs[0].Shape);
        Assert.Equal([-1L, 1], outputs[1].Shape);
        Assert.Equal([TensorType.Float32, TensorType.Int64], outputs.Select(o => o.Type));
        Assert.All(inputs.Concat(outputs), m => Assert.Equal("batch-1 model: rows run one at a time", m.Description));
    }

    [Fact]
    public void Metadata_BatchOneModelWithSplitOff_KeepsDimensionZeroAtOne()
    {
        using var stage = Load("fixed_batch.onnx", split: false);

        Assert.Equal([1L, 4], stage.Metadata.Inputs[0].Shape);
        Assert.Equal([1L, 4], stage.Metadata.Outputs[0].Shape);
        Assert.Equal(string.Empty, stage.Metadata.Inputs[0].Description);
    }

    [Fact]
    public void Metadata_DynamicBatchModel_NotSplitNoDescription()
    {
        using var stage = Load("add_mul.onnx");

        Assert.Equal([-1L, 4], stage.Metadata.Inputs[0].Shape);
        Assert.Equal(string.Empty, stage.Metadata.Inputs[0].Description);
        Assert.Equal(string.Empty, stage.Metadata.Outputs[0].Description);
    }

    [Fact]
    public void Metadata_NoNameOrVersionGiven_FileNameVersionOneAndProducerInDescription()
    {
        using var stage = Load("add_mul.onnx");

        Assert.Equal("add_mul", stage.Metadata.Name);
        Assert.Equal("1", stage.Metadata.Version);
        Assert.Equal("graphpipe-dotnet onnx", stage.Metadata.Server);
        Assert.Equal("ONNX model add_mul.onnx (graphpipe-make_test_models)", stage.Metadata.Description);
    }

    [Fact]
    public void Metadata_NameAndVersionGiven_Reported()
    {
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), IntraOpThreads = 1, Name = "renamed", Version = "7" });

        Assert.Equal(("renamed", "7"), (stage.Metadata.Name, stage.Metadata.Version));
    }

    [Fact]
    public void Constructor_MissingFile_FileNotFoundNamingIt()
    {
        var path = Path.Combine(Path.GetTempPath(), $"graphpipe-missing-{Guid.NewGuid():N}.onnx");

        var ex = Assert.Throws<FileNotFoundException>(() => new OnnxModelStage(new OnnxModelOptions { ModelPath = path }));

        Assert.Equal(path, ex.FileName);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NotAModel_InvalidDataNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"graphpipe-garbage-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, [0xFF, 0x00, 0x13, 0x37, 0x42, 0x99, 0x01, 0x02]);
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => new OnnxModelStage(new OnnxModelOptions { ModelPath = path }));

            Assert.StartsWith($"ONNX Runtime could not load '{path}': ", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Constructor_InvalidOptions_ValidationException()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(
            () => new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), EngineCount = 0 }));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelGivenThreeRows_RunsEachRowAndStacks()
    {
        using var stage = Load("fixed_batch.onnx");
        float[] x = [-1, 2, -3, 4, 5, -6, 7, -8, 0.5f, -0.5f, 9, -9];

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>(x, 3, 4)], "y"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        var y = Assert.Single(result.Outputs);
        Assert.Equal(TensorType.Float32, y.Type);
        Assert.Equal([3L, 4], y.Shape);
        Assert.Equal(x.Select(v => Math.Max(v, 0f)), Values<float>(y));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelGivenOneRow_RunsItOnce()
    {
        using var stage = Load("fixed_batch.onnx");

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>([-1f, 2, -3, 4], 1, 4)], "y"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([1L, 4], result.Outputs[0].Shape);
        Assert.Equal([0f, 2, 0, 4], Values<float>(result.Outputs[0]));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelGivenZeroRows_EmptyOutputOfTheAdvertisedShape()
    {
        using var stage = Load("fixed_batch_mixed.onnx");

        using var result = await InferAsync(stage, Request(["a", "k"], [Tensor.Create<float>([], 0, 3), Tensor.Create<long>([], 0, 1)], "kx3", "s"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(2, result.Outputs.Count);
        Assert.Equal([TensorType.Int64, TensorType.Float32], result.Outputs.Select(o => o.Type));
        Assert.Equal([0L, 1], result.Outputs[0].Shape);
        Assert.Equal([0L, 3], result.Outputs[1].Shape);
        Assert.True(result.Outputs[0].Data.IsEmpty && result.Outputs[1].Data.IsEmpty);
    }

    /// <summary>Float32 [1,3] rows are 12 bytes, int64 [1,1] rows 8: each input is split at its own row size.</summary>
    [Fact]
    public async Task InferAsync_BatchOneModelInputsOfDifferentRowSizes_EachSplitAtItsOwnRowSize()
    {
        using var stage = Load("fixed_batch_mixed.onnx");
        const int rows = 5;
        var a = Floats(rows * 3, i => (i * 1.5f) - 4);
        long[] k = [7, -40, 1_000_003, 5, 0];

        using var result = await InferAsync(stage, Request(["a", "k"], [Tensor.Create<float>(a, rows, 3), Tensor.Create<long>(k, rows, 1)], "s", "kx3"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        var s = result.Outputs[0];
        var kx3 = result.Outputs[1];
        Assert.Equal([(long)rows, 3], s.Shape);
        Assert.Equal([(long)rows, 1], kx3.Shape);
        Assert.Equal(TensorType.Int64, kx3.Type);
        Assert.Equal(a.Select((v, i) => v + (float)k[i / 3]), Values<float>(s));
        Assert.Equal(k.Select(v => v * 3), Values<long>(kx3));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelInputsNamedInAnotherOrder_BoundByName()
    {
        using var stage = Load("fixed_batch_mixed.onnx");
        float[] a = [1, 2, 3, 4, 5, 6];
        long[] k = [10, 20];

        using var result = await InferAsync(stage, Request(["k", "a"], [Tensor.Create<long>(k, 2, 1), Tensor.Create<float>(a, 2, 3)], "kx3"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        var kx3 = Assert.Single(result.Outputs);
        Assert.Equal([30L, 60], Values<long>(kx3));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelRowsDisagree_InvalidInputNamingEachShape()
    {
        using var stage = Load("fixed_batch_pair.onnx");

        using var result = await InferAsync(stage, Request(["a", "b"], [Tensor.Create<float>(new float[6], 2, 3), Tensor.Create<float>(new float[9], 3, 3)], "s"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("inputs must agree in dimension 0 (rows): 'a' [2,3], 'b' [3,3]", result.Error?.Message);
    }

    [Fact]
    public async Task InferAsync_BatchOneModelSecondInputHasOneRowTheFirstTwo_InvalidInput()
    {
        using var stage = Load("fixed_batch_pair.onnx");

        using var result = await InferAsync(stage, Request(["a", "b"], [Tensor.Create<float>(new float[6], 2, 3), Tensor.Create<float>(new float[3], 1, 3)], "s"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.StartsWith("inputs must agree in dimension 0 (rows)", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_TwoInputBatchOneModelTwoRowsEach_AddsRowByRow()
    {
        using var stage = Load("fixed_batch_pair.onnx");
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] b = [10, 20, 30, 40, 50, 60];

        using var result = await InferAsync(stage, Request(["a", "b"], [Tensor.Create<float>(a, 2, 3), Tensor.Create<float>(b, 2, 3)], "s"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([2L, 3], result.Outputs[0].Shape);
        Assert.Equal([11f, 22, 33, 44, 55, 66], Values<float>(result.Outputs[0]));
    }

    [Fact]
    public async Task InferAsync_BatchOneModelWithSplitOffGivenTwoRows_InvalidInput()
    {
        using var stage = Load("fixed_batch.onnx", split: false);

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>(new float[8], 2, 4)], "y"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Contains("dimension 0 must be 1", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_BatchOneModelWrongColumns_InvalidInputNamingTheShapes()
    {
        using var stage = Load("fixed_batch.onnx");

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>(new float[10], 2, 5)], "y"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("input 'x': expected shape [-1,4], received [2,5] (dimension 1 must be 4)", result.Error?.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public async Task InferAsync_DynamicBatchModel_OneRunOverAllRows(int rows)
    {
        using var stage = Load("add_mul.onnx");
        var x = Floats(rows * 4, i => (i * 0.5f) - 3.25f);

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>(x, rows, 4)], "y"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([(long)rows, 4], result.Outputs[0].Shape);
        Assert.Equal(x.Select(v => (v * 2) + 1), Values<float>(result.Outputs[0]));
    }

    [Fact]
    public async Task InferAsync_DynamicBatchModelZeroRows_EmptyOutput()
    {
        using var stage = Load("add_mul.onnx");

        using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>([], 0, 4)], "y"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal([0L, 4], result.Outputs[0].Shape);
        Assert.True(result.Outputs[0].Data.IsEmpty);
    }

    [Fact]
    public async Task InferAsync_MissingInput_InvalidInputListingWhatIsMissing()
    {
        using var stage = Load("multi_io.onnx");

        using var result = await InferAsync(stage, Request(["b"], [Tensor.Create<float>([1f, 2, 3], 1, 3)], "sum"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("missing inputs: a: float32[-1,3], k: int64[-1,1]", result.Error?.Message);
    }

    [Fact]
    public async Task InferAsync_WrongType_InvalidInputBeforeRunning()
    {
        using var stage = Load("multi_io.onnx");

        using var result = await InferAsync(stage, Request(
            ["a", "b", "k"],
            [Tensor.Create<float>([1f, 2, 3], 1, 3), Tensor.Create<float>([1f, 2, 3], 1, 3), Tensor.Create<float>([1f], 1, 1)],
            "kx2"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Equal("input 'k': expected type int64, received float32", result.Error?.Message);
    }

    [Fact]
    public async Task InferAsync_InputsTheGraphCannotCombine_InvalidInputWithTheRuntimesReason()
    {
        using var stage = Load("multi_io.onnx");

        // Each input fits its own metadata ([N,3]), but a + b cannot broadcast 2 rows against 3.
        using var result = await InferAsync(stage, Request(
            ["a", "b", "k"],
            [Tensor.Create<float>(new float[6], 2, 3), Tensor.Create<float>(new float[9], 3, 3), Tensor.Create<long>([1L, 2], 2, 1)],
            "sum"));

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.StartsWith("model rejected the inputs: ", result.Error?.Message, StringComparison.Ordinal);
        Assert.True(result.Error!.Message.Length > "model rejected the inputs: ".Length);
    }

    [Fact]
    public async Task InferAsync_ManyRequestsOnOneEngine_EachGetsTheSessionBack()
    {
        using var stage = Load("fixed_batch.onnx");

        for (var i = 0; i < 3; i++)
        {
            using var single = await InferAsync(stage, Request(["x"], [Tensor.Create<float>([i, -1, 1, -i], 1, 4)], "y"));
            using var rows = await InferAsync(stage, Request(["x"], [Tensor.Create<float>([i, -1, 1, -i, -2, 2, -3, 3], 2, 4)], "y"));
            Assert.Equal([i, 0, 1, 0], Values<float>(single.Outputs[0]));
            Assert.Equal([i, 0, 1, 0, 0, 2, 0, 3], Values<float>(rows.Outputs[0]));
        }
    }

    [Fact]
    public async Task InferAsync_TwoEngines_BothServe()
    {
        using var stage = Load("add_mul.onnx", engines: 2);

        var tasks = Enumerable.Range(0, 6).Select(async i =>
        {
            using var result = await InferAsync(stage, Request(["x"], [Tensor.Create<float>([i, i, i, i], 1, 4)], "y"));
            return Values<float>(result.Outputs[0]);
        }).ToArray();
        var all = await Task.WhenAll(tasks).WaitAsync(Wait, Ct);

        Assert.Equal(Enumerable.Range(0, 6).Select(i => Enumerable.Repeat((i * 2f) + 1, 4).ToArray()), all);
    }

    [Fact]
    public async Task InferAsync_CancelledBeforeASessionIsFree_Throws()
    {
        using var stage = Load("add_mul.onnx");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => stage.InferAsync(Request(["x"], [Tensor.Create<float>(new float[4], 1, 4)], "y"), cancelled.Token).AsTask().WaitAsync(Wait, Ct));
    }

    /// <summary>The data vector of a flatbuffers request has no alignment guarantee; an input one byte off float alignment is copied, not misread.</summary>
    [Theory]
    [InlineData("add_mul.onnx", 3)]
    [InlineData("fixed_batch.onnx", 3)]
    public async Task InferAsync_UnalignedInputBytes_ComputedFromTheRightValues(string model, int rows)
    {
        using var stage = Load(model);
        var x = Floats(rows * 4, i => (i * 1.25f) - 6);
        var backing = new byte[(x.Length * 4) + 1];
        MemoryMarshal.AsBytes(x.AsSpan()).CopyTo(backing.AsSpan(1));
        var unaligned = Tensor.FromBytes(TensorType.Float32, [rows, 4], backing.AsMemory(1, x.Length * 4));
        string output = model == "add_mul.onnx" ? "y" : "y";

        using var result = await InferAsync(stage, Request(["x"], [unaligned], output));

        Assert.True(result.IsSuccess, result.Error?.Message);
        var expected = model == "add_mul.onnx" ? x.Select(v => (v * 2) + 1) : x.Select(v => Math.Max(v, 0f));
        Assert.Equal(expected, Values<float>(result.Outputs[0]));
    }

    [Fact]
    public async Task InferAsync_Strings_EchoedAndUpperCased()
    {
        using var stage = Load("strings.onnx");
        string[] text = ["hello", "Mixed Case 123", ""];

        using var result = await InferAsync(stage, Request(["text"], [Tensor.FromStrings(text)], "same", "upper"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(text, result.Outputs[0].ToStringArray());
        Assert.Equal(text.Select(t => t.ToUpperInvariant()), result.Outputs[1].ToStringArray());
        Assert.Equal([3L], result.Outputs[1].Shape);
    }

    [Fact]
    public async Task InferAsync_Types_EachElementTypeRoundTrips()
    {
        using var stage = Load("types.onnx");
        Tensor[] inputs =
        [
            Tensor.Create<byte>([0, 1, 254, 255], 2, 2),
            Tensor.Create<double>([Math.PI, -0.0, double.MaxValue, 1e-300], 2, 2),
            Tensor.Create<Half>([(Half)0.5f, (Half)(-2.25f), Half.MaxValue, Half.Epsilon], 2, 2),
            Tensor.Create<int>([int.MinValue, -1, 0, int.MaxValue], 2, 2),
        ];

        using var result = await InferAsync(stage, Request(["u8", "f64", "f16", "i32"], inputs, "u8_out", "f64_out", "f16_out", "i32_out"));

        Assert.True(result.IsSuccess, result.Error?.Message);
        for (var i = 0; i < inputs.Length; i++)
        {
            Assert.Equal(inputs[i].Type, result.Outputs[i].Type);
            Assert.Equal([2L, 2], result.Outputs[i].Shape);
            Assert.Equal(inputs[i].Data.ToArray(), result.Outputs[i].Data.ToArray());
        }
    }
}
