using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>Error messages repeat client input only in bounded form.</summary>
public sealed class EchoTests
{
    private static readonly string MegabyteName = new('n', 1 << 20);
    private static readonly Tensor MillionDims = Tensor.Create<float>([1f], Enumerable.Repeat(1L, 1_000_000).ToArray());

    [Fact]
    public void Name_Short_ReturnedUnchanged()
    {
        Assert.Equal("images", Echo.Name("images"));
    }

    [Fact]
    public void Name_Megabyte_CutWithItsLength()
    {
        var shown = Echo.Name(MegabyteName);

        Assert.True(shown.Length < Echo.MaxChars + 40, shown.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.EndsWith("... (1048576 chars)", shown, StringComparison.Ordinal);
    }

    [Fact]
    public void Name_ControlCharacters_Replaced()
    {
        Assert.Equal("a?b", Echo.Name("a\nb"));
    }

    [Fact]
    public void Name_CutInsideSurrogatePair_KeepsThePairWhole()
    {
        var text = new string('x', Echo.MaxChars - 1) + "\U0001F600" + "tail";

        var shown = Echo.Name(text);

        Assert.StartsWith(new string('x', Echo.MaxChars - 1) + "...", shown, StringComparison.Ordinal);
    }

    [Fact]
    public void Shape_MillionDimensions_ShowsEightAndTheRank()
    {
        Assert.Equal("[1,1,1,1,1,1,1,1,... (rank 1000000)]", Echo.Shape(MillionDims.Shape.AsSpan()));
    }

    [Fact]
    public void Shape_Short_FormattedAsUsual()
    {
        Assert.Equal("[1,3,224,224]", Echo.Shape([1, 3, 224, 224]));
    }

    [Fact]
    public void Bind_MegabyteInputName_MessageUnder1KbNamingTheField()
    {
        var metadata = new StageMetadata { Name = "m", Inputs = [new IOMetadata("a", TensorType.Float32, [-1])] };

        RequestBinder.Bind(new InferRequest { Inputs = [Tensor.Create<float>([1f], 1)], InputNames = [MegabyteName] }, metadata, null, null, out var error);

        Assert.NotNull(error);
        Assert.True(error.Message.Length < 1024, error.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("unknown input name 'nnn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_MegabyteOutputName_MessageUnder1KbNamingTheField()
    {
        var metadata = new StageMetadata { Name = "m", Inputs = [new IOMetadata("a", TensorType.Float32, [-1])], Outputs = [new IOMetadata("y", TensorType.Float32, [-1])] };

        RequestBinder.Bind(new InferRequest { Inputs = [Tensor.Create<float>([1f], 1)], OutputNames = [MegabyteName] }, metadata, null, null, out var error);

        Assert.NotNull(error);
        Assert.True(error.Message.Length < 1024, error.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("unknown output name 'nnn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mismatch_MillionDimensionShape_MessageUnder1KbNamingTheInput()
    {
        var message = TensorChecks.Mismatch(new IOMetadata("x", TensorType.Float32, [-1, 4]), MillionDims);

        Assert.NotNull(message);
        Assert.True(message.Length < 1024, message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("input 'x'", message, StringComparison.Ordinal);
        Assert.Contains("rank 1000000", message, StringComparison.Ordinal);
    }
}
