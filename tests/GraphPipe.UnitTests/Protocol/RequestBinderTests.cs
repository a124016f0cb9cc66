using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

public sealed class RequestBinderTests
{
    private static readonly StageMetadata Metadata = new()
    {
        Name = "m",
        Inputs = [new IOMetadata("a", TensorType.Float32, [-1, 3]), new IOMetadata("b", TensorType.Int64, [-1])],
        Outputs = [new IOMetadata("x", TensorType.Float32, [-1]), new IOMetadata("y", TensorType.Float32, [-1])],
    };

    private static readonly Tensor A = Tensor.Create<float>([1f, 2, 3], 1, 3);
    private static readonly Tensor B = Tensor.Create<long>([1L], 1);

    [Fact]
    public void Bind_EmptyNames_UsesPositionalDefaultsAndAllOutputs()
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = [A, B], InputNames = ["", ""] }, Metadata, null, null, out var error);
        Assert.Null(error);
        Assert.Equal(["a", "b"], bound!.InputNames);
        Assert.Equal(["x", "y"], bound.OutputNames);
    }

    [Fact]
    public void Bind_MoreNamesThanTensors_IsTolerated()
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = [A], InputNames = ["a", "b", "c"] }, Metadata, null, null, out var error);
        Assert.Null(error);
        Assert.Equal(["a"], bound!.InputNames);
    }

    [Fact]
    public void Bind_ConfiguredDefaults_OverrideMetadataOrder()
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = [B] }, Metadata, ["b"], ["y"], out _);
        Assert.Equal(["b"], bound!.InputNames);
        Assert.Equal(["y"], bound.OutputNames);
    }

    [Fact]
    public void Bind_OutputsInRequestedOrder_Kept()
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = [A], OutputNames = ["y", "x"] }, Metadata, null, null, out _);
        Assert.Equal(["y", "x"], bound!.OutputNames);
    }

    [Theory]
    [InlineData("", "output name 0 is empty")]
    [InlineData("zzz", "unknown output name 'zzz'")]
    public void Bind_BadOutputName_InvalidInputNamingIt(string output, string expected)
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = [A], OutputNames = [output] }, Metadata, null, null, out var error);
        Assert.Null(bound);
        Assert.Equal(StageErrorKind.InvalidInput, error!.Kind);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_UnknownInputName_ListsTheInputs()
    {
        RequestBinder.Bind(new InferRequest { Inputs = [A], InputNames = ["q"] }, Metadata, null, null, out var error);
        Assert.Contains("unknown input name 'q'", error!.Message, StringComparison.Ordinal);
        Assert.Contains("a: float32[-1,3]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_DuplicateInput_IsAnError()
    {
        RequestBinder.Bind(new InferRequest { Inputs = [A, A], InputNames = ["a", "a"] }, Metadata, null, null, out var error);
        Assert.Contains("given twice", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_TooManyUnnamedInputs_IsAnError()
    {
        RequestBinder.Bind(new InferRequest { Inputs = [A, B, B] }, Metadata, null, null, out var error);
        Assert.Contains("input 2 has no name", error!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TensorType.Int32, new long[] { 1, 3 }, "expected type float32, received int32")]
    [InlineData(TensorType.Float32, new long[] { 1, 4 }, "expected shape [-1,3], received [1,4]")]
    [InlineData(TensorType.Float32, new long[] { 3 }, "(rank 2), received [3] (rank 1)")]
    public void Mismatch_WrongTypeOrShape_NamesInputExpectedAndReceived(TensorType type, long[] shape, string expected)
    {
        var tensor = Tensor.FromBytes(type, shape, new byte[Tensor.ElementCountOf(shape) * type.ElementSize()]);
        var message = TensorChecks.Mismatch(Metadata.Inputs[0], tensor);
        Assert.NotNull(message);
        Assert.StartsWith("input 'a'", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatch_DynamicBatch_AcceptsAnySize()
    {
        Assert.Null(TensorChecks.Mismatch(Metadata.Inputs[0], Tensor.Create<float>(new float[21], 7, 3)));
    }
}
