using GraphPipe.Caching;

namespace GraphPipe.UnitTests;

public sealed class CachedOutputsTests
{
    [Fact]
    public void TryRead_WrittenOutputs_SameTypesShapesAndBytes()
    {
        Tensor[] outputs = [Tensor.Create<float>([1f, 2f, 3f, 4f], 2, 2), Tensor.FromStrings("a", "", "ccc"), Tensor.Scalar<long>(7), Tensor.Create<byte>([], 0, 3)];

        Assert.True(CachedOutputs.TryRead(CachedOutputs.Write(outputs), out var read));

        Assert.Equal(outputs.Length, read.Length);
        for (var i = 0; i < outputs.Length; i++)
        {
            Assert.Equal(outputs[i].Type, read[i].Type);
            Assert.Equal(outputs[i].Shape, read[i].Shape);
            Assert.Equal(outputs[i].Data.ToArray(), read[i].Data.ToArray());
            Assert.Equal(outputs[i].Strings.Select(s => s.ToArray()), read[i].Strings.Select(s => s.ToArray()));
        }
    }

    [Fact]
    public void TryRead_EveryTruncation_FalseNeverThrows()
    {
        var bytes = CachedOutputs.Write([Tensor.Create<float>([1f, 2f], 2), Tensor.FromStrings("xy", "z")]);

        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(CachedOutputs.TryRead(bytes[..length], out _));
        }
    }
}
