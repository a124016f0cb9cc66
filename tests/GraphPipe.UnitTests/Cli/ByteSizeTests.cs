using GraphPipe.Cli;
using GraphPipe.Onnx.Repository;

namespace GraphPipe.UnitTests;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("256MB", 256L << 20)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("512k", 512L << 10)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("65536", 65536)]
    [InlineData(" 10 B ", 10)]
    public void TryParse_SizeWithUnit_Bytes(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MB")]
    [InlineData("12XB")]
    [InlineData("-5MB")]
    [InlineData("1e30TB")]
    public void TryParse_NotASize_False(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData("m=/models/a.onnx", "m", "/models/a.onnx")]
    [InlineData("/models/a.onnx", "a", "/models/a.onnx")]
    [InlineData("/data/x=y/b.onnx", "b", "/data/x=y/b.onnx")]
    [InlineData("resnet=/repo/resnet", "resnet", "/repo/resnet")]
    public void ModelSourceParse_NameEqualsPathOrPath_NameAndPath(string text, string name, string path)
    {
        var source = ModelSource.Parse(text);
        Assert.Equal(name, source.Name);
        Assert.Equal(path, source.Path);
    }
}
