using GraphPipe.Imaging;
using SkiaSharp;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>Output values, channel order and layout of each profile against values computed here from known colours.</summary>
public sealed class PreprocessNumericsTests
{
    /// <summary>Every output pixel must be exactly its quadrant's colour, normalised per the profile.</summary>
    private static void AssertQuadrants(float[] output, PreprocessProfile p, double tolerance = 1e-3)
    {
        for (var y = 0; y < p.Height; y++)
        {
            for (var x = 0; x < p.Width; x++)
            {
                var colour = QuadrantAt(x, y, p.Width / 2, p.Height / 2);
                for (var c = 0; c < 3; c++)
                {
                    var actual = output[Index(p, x, y, c)];
                    var expected = Expected(p, colour, c);
                    if (Math.Abs(actual - expected) > tolerance)
                    {
                        Assert.Fail($"profile {p.Name} at x={x} y={y} channel {c}: expected {expected}, got {actual}");
                    }
                }
            }
        }
    }

    [Fact]
    public void Preprocess_VggProfileOnPng448_WritesNhwcBgrMinusCaffeMeans()
    {
        var p = PreprocessProfile.Get("vgg");
        using var image = Quadrants(448, 448);

        var output = Run(Png(image), p);

        AssertQuadrants(output, p);
        // Spot check by hand: top-left is red (200,30,60); NHWC BGR: [B-103.939, G-116.779, R-123.68].
        Assert.Equal(60 - 103.939f, output[0], 3);
        Assert.Equal(30 - 116.779f, output[1], 3);
        Assert.Equal(200 - 123.68f, output[2], 3);
    }

    [Fact]
    public void Preprocess_ImagenetProfileOnWidePng_CropsTheCentreAndWritesNchwRgbNormalised()
    {
        var p = PreprocessProfile.Get("imagenet");
        // 512x384: shorter side -> 256 (x1.5 smaller), width -> 341, centre crop left 58, top 16 (resized
        // pixels), i.e. source x 87..423, y 24..360 with its centre at (255, 192). The yellow frame lies
        // outside the crop, so it must not show; a stretch would show it at the edges.
        using var image = Quadrants(512, 384, splitX: 255, splitY: 192, inner: new SKRectI(80, 20, 430, 364));

        var output = Run(Png(image), p);

        AssertQuadrants(output, p);
        var plane = 224 * 224;
        Assert.Equal(((200 / 255.0) - 0.485) / 0.229, output[0], 3);
        Assert.Equal(((30 / 255.0) - 0.456) / 0.224, output[plane], 3);
        Assert.Equal(((60 / 255.0) - 0.406) / 0.225, output[2 * plane], 3);
    }

    [Fact]
    public void Preprocess_Resnet18ProfileOnPng224_WritesNchwRgbRawPixelValues()
    {
        var p = PreprocessProfile.Get("resnet18");
        using var image = Quadrants(224, 224);

        var output = Run(Png(image), p);

        AssertQuadrants(output, p);
        var plane = 224 * 224;
        var bottomRight = (223 * 224) + 223;
        Assert.Equal([128f, 128f, 128f], [output[bottomRight], output[plane + bottomRight], output[(2 * plane) + bottomRight]]);
        Assert.Equal([20f, 180f, 90f], [output[223], output[plane + 223], output[(2 * plane) + 223]]);
    }

    [Fact]
    public void Preprocess_CustomNonSquareProfile_HonoursWidthAndHeight()
    {
        var p = PreprocessProfile.Get("vgg").With(width: 160, height: 96, channelOrder: ChannelOrder.Rgb, layout: TensorLayout.Nchw);
        using var image = Quadrants(320, 192);

        var output = Run(Png(image), p);

        Assert.Equal(160 * 96 * 3, p.ElementsPerImage);
        AssertQuadrants(output, p);
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("vgg")]
    public void Preprocess_JpegQuadrants_MatchesSkiaFullDecodeWithBilinearWithinJpegTolerance(string profile)
    {
        var p = PreprocessProfile.Get(profile);
        using var image = Quadrants(448, 448);
        var jpeg = Jpeg(image, 95);
        using var decoded = DecodeFull(jpeg);

        var output = Run(jpeg, p);
        var reference = Reference(decoded, p);

        // Values are 0..255-scaled for both profiles; DCT-domain downscaling differs slightly from full decode + bilinear.
        var diff = MeanAbsDiff(output, reference);
        Assert.True(diff < 2.0, $"mean abs diff {diff}");
        AssertQuadrantsInterior(output, p, tolerance: 8);
    }

    [Fact]
    public void Preprocess_GrayscaleJpegPhoto_GivesThreeEqualChannels()
    {
        var p = PreprocessProfile.Get("resnet18");

        var output = Run(ReadPhoto("camera-gray-512.jpg"), p);

        var plane = 224 * 224;
        for (var i = 0; i < plane; i += 97)
        {
            Assert.Equal(output[i], output[plane + i]);
            Assert.Equal(output[i], output[(2 * plane) + i]);
        }

        Assert.Contains(output.AsSpan(0, plane).ToArray(), v => v > 100);
        Assert.Contains(output.AsSpan(0, plane).ToArray(), v => v < 50);
    }

    [Fact]
    public void Preprocess_WebPLossless_MatchesQuadrants()
    {
        var p = PreprocessProfile.Get("resnet18");
        using var image = Quadrants(448, 448);

        AssertQuadrants(Run(WebPLossless(image), p), p);
    }

    [Fact]
    public void Preprocess_Bmp24Bit_MatchesQuadrants()
    {
        var p = PreprocessProfile.Get("vgg");
        using var image = Quadrants(224, 224);

        AssertQuadrants(Run(Bmp(image), p), p);
    }

    [Fact]
    public void Preprocess_AnimatedGif_UsesTheFirstFrame()
    {
        var p = PreprocessProfile.Get("resnet18");
        var gif = TwoFrameGif(8, 8, Red, Green);

        var output = Run(gif, p);

        var plane = 224 * 224;
        Assert.All(new[] { 0, 1000, plane - 1 }, i =>
        {
            Assert.Equal(Red.R, output[i]);
            Assert.Equal(Red.G, output[plane + i]);
            Assert.Equal(Red.B, output[(2 * plane) + i]);
        });
    }

    [Fact]
    public void Preprocess_PngWithAlpha_IgnoresAlpha()
    {
        var p = PreprocessProfile.Get("resnet18");
        using var image = new SKBitmap(new SKImageInfo(32, 32, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(100, 150, 200, 40));

        var output = Run(Png(image), p);

        Assert.Equal([100f, 150f, 200f], [output[5], output[(224 * 224) + 5], output[(2 * 224 * 224) + 5]]);
    }

    /// <summary>Like <see cref="AssertQuadrants"/>, away from the quadrant edges where JPEG rings.</summary>
    private static void AssertQuadrantsInterior(float[] output, PreprocessProfile p, double tolerance)
    {
        foreach (var (x, y) in new[] { (40, 40), (180, 40), (40, 180), (180, 180) })
        {
            var colour = QuadrantAt(x, y, p.Width / 2, p.Height / 2);
            for (var c = 0; c < 3; c++)
            {
                Assert.InRange(output[Index(p, x, y, c)], Expected(p, colour, c) - tolerance, Expected(p, colour, c) + tolerance);
            }
        }
    }
}
