using GraphPipe.Cli;
using GraphPipe.Imaging;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>How <c>graphpipe serve preprocess</c> turns flags and the next stage's metadata into a profile.</summary>
public sealed class PreprocessCliTests
{
    [Fact]
    public void ApplyOverrides_AllFlags_ReplaceTheProfileValues()
    {
        var profile = PreprocessCommand.ApplyOverrides(PreprocessProfile.Get("resnet18"), "320x240", "bgr", "nhwc", "1,2,3", "4,5,6", "1/255", "crop");

        Assert.Equal((320, 240, ChannelOrder.Bgr, TensorLayout.Nhwc), (profile.Width, profile.Height, profile.ChannelOrder, profile.Layout));
        Assert.Equal([1f, 2f, 3f], profile.Mean);
        Assert.Equal([4f, 5f, 6f], profile.Std);
        Assert.Equal(1f / 255f, profile.Scale);
        Assert.Equal(ResizeMode.ShorterSideCrop, profile.Resize);
        Assert.Equal(366, profile.ResizeShorterSide); // 320 * 256 / 224
    }

    [Fact]
    public void ApplyOverrides_SquareSizeOnly_KeepsEverythingElse()
    {
        var vgg = PreprocessProfile.Get("vgg");

        var profile = PreprocessCommand.ApplyOverrides(vgg, "299", null, null, null, null, null, null);

        Assert.Equal((299, 299), (profile.Width, profile.Height));
        Assert.Equal((vgg.ChannelOrder, vgg.Layout, vgg.Scale, vgg.Resize), (profile.ChannelOrder, profile.Layout, profile.Scale, profile.Resize));
        Assert.Equal(vgg.Mean, profile.Mean);
    }

    [Theory]
    [InlineData("0x5")]
    [InlineData("axb")]
    [InlineData("1x2x3")]
    public void ApplyOverrides_BadSize_ThrowsCliExceptionNamingTheFlag(string size)
    {
        var ex = Assert.Throws<CliException>(() => PreprocessCommand.ApplyOverrides(PreprocessProfile.Get("vgg"), size, null, null, null, null, null, null));

        Assert.StartsWith("--size:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AdaptTo_NhwcModelInput_SwitchesLayoutAndSize()
    {
        var input = new IOMetadata("input", TensorType.Float32, [-1, 299, 299, 3]);

        var profile = PreprocessCommand.AdaptTo(PreprocessProfile.Get("resnet18"), input);

        Assert.Equal((299, 299, TensorLayout.Nhwc), (profile.Width, profile.Height, profile.Layout));
    }

    [Fact]
    public void AdaptTo_NchwModelInput_SwitchesLayout()
    {
        var input = new IOMetadata("data", TensorType.Float32, [-1, 3, 224, 224]);

        var profile = PreprocessCommand.AdaptTo(PreprocessProfile.Get("vgg"), input);

        Assert.Equal(TensorLayout.Nchw, profile.Layout);
    }

    [Fact]
    public void AdaptTo_NonImageInput_KeepsTheProfile()
    {
        var vgg = PreprocessProfile.Get("vgg");

        Assert.Same(vgg, PreprocessCommand.AdaptTo(vgg, new IOMetadata("x", TensorType.Float32, [-1, 4])));
        Assert.Same(vgg, PreprocessCommand.AdaptTo(vgg, new IOMetadata("x", TensorType.Float32, [-1, -1, -1, 3])));
    }
}
