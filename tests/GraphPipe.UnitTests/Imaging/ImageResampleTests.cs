using GraphPipe.Imaging;

namespace GraphPipe.UnitTests;

/// <summary>
/// The fused resample-and-normalise pass of <see cref="ImagePreprocessor"/> on pixel buffers made here, against a
/// straightforward double-precision reference written from the documented semantics: bilinear sampling at
/// half-pixel centres over the stretch window or torchvision's Resize(S) + CenterCrop window, then
/// <c>(pixel * Scale - Mean[c]) / Std[c]</c> per output channel, in the profile's channel order and layout.
/// </summary>
public sealed class ImageResampleTests
{
    /// <summary>Bytes after the image in the buffer: a sample that reads past the last row or column picks these up.</summary>
    private const byte Sentinel = 255;

    /// <summary>An image whose every channel varies across x and y (values 0..200), so any wrong tap or weight shows.</summary>
    private static byte[] Image(int width, int height, int bytesPerPixel, int tail = 64)
    {
        var pixels = new byte[(width * height * bytesPerPixel) + tail];
        pixels.AsSpan(width * height * bytesPerPixel).Fill(Sentinel);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var at = ((y * width) + x) * bytesPerPixel;
                pixels[at] = (byte)(((x * 37) + (y * 11)) % 201);
                pixels[at + 1] = (byte)(((x * 5) + (y * 53) + 17) % 201);
                pixels[at + 2] = (byte)(((x * x) + (y * 29) + 101) % 201);
                if (bytesPerPixel == 4)
                {
                    pixels[at + 3] = 77; // alpha or padding: never read into the output
                }
            }
        }

        return pixels;
    }

    private static int Index(PreprocessProfile p, int x, int y, int c)
        => p.Layout == TensorLayout.Nhwc ? (((y * p.Width) + x) * 3) + c : (c * p.Width * p.Height) + (y * p.Width) + x;

    /// <summary>The reference: per output pixel and channel, in doubles.</summary>
    private static double[] Reference(byte[] pixels, int width, int height, int bpp, PreprocessProfile p)
    {
        double left = 0, top = 0, windowW = width, windowH = height;
        if (p.Resize == ResizeMode.ShorterSideCrop)
        {
            // torchvision: the shorter side becomes S, the longer int(S * long / short); the crop offset is round-half-even((resized - crop) / 2).
            var s = p.ResizeShorterSide;
            int resizedW = width <= height ? s : (int)Math.Floor((double)s * width / height);
            int resizedH = width <= height ? (int)Math.Floor((double)s * height / width) : s;
            var cropLeft = Math.Round((resizedW - p.Width) / 2.0, MidpointRounding.ToEven);
            var cropTop = Math.Round((resizedH - p.Height) / 2.0, MidpointRounding.ToEven);
            var scaleX = (double)width / resizedW;
            var scaleY = (double)height / resizedH;
            (left, top, windowW, windowH) = (cropLeft * scaleX, cropTop * scaleY, p.Width * scaleX, p.Height * scaleY);
        }

        var result = new double[p.Width * p.Height * 3];
        for (var y = 0; y < p.Height; y++)
        {
            var sy = Math.Clamp(top + ((y + 0.5) * windowH / p.Height) - 0.5, 0, height - 1);
            int y0 = (int)Math.Floor(sy), y1 = Math.Min(y0 + 1, height - 1);
            var wy = sy - y0;
            for (var x = 0; x < p.Width; x++)
            {
                var sx = Math.Clamp(left + ((x + 0.5) * windowW / p.Width) - 0.5, 0, width - 1);
                int x0 = (int)Math.Floor(sx), x1 = Math.Min(x0 + 1, width - 1);
                var wx = sx - x0;
                for (var c = 0; c < 3; c++)
                {
                    var source = p.ChannelOrder == ChannelOrder.Bgr ? 2 - c : c;
                    double At(int px, int py) => pixels[(((py * width) + px) * bpp) + source];
                    var value = (At(x0, y0) * (1 - wx) * (1 - wy)) + (At(x1, y0) * wx * (1 - wy)) + (At(x0, y1) * (1 - wx) * wy) + (At(x1, y1) * wx * wy);
                    result[Index(p, x, y, c)] = ((value * p.Scale) - p.Mean[c]) / p.Std[c];
                }
            }
        }

        return result;
    }

    private static void AssertMatches(double[] expected, float[] actual, PreprocessProfile p)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            var tolerance = 1e-3 * Math.Max(1, Math.Abs(expected[i]));
            // Written so that a NaN (an infinite or empty window) fails too.
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance))
            {
                Assert.Fail($"{p}: element {i} expected {expected[i]}, got {actual[i]}");
            }
        }
    }

    private static float[] Resample(byte[] pixels, int width, int height, int bpp, PreprocessProfile p)
    {
        var output = new float[p.ElementsPerImage];
        ImagePreprocessor.Resample(pixels, width, height, bpp, p, output);
        return output;
    }

    /// <summary>Distinct scale, means and stds per channel: a coefficient taken from the wrong channel shows.</summary>
    private static PreprocessProfile Profile(int width, int height, ChannelOrder order, TensorLayout layout, ResizeMode resize = ResizeMode.Stretch, int shorter = 256)
        => new()
        {
            Name = "test", Width = width, Height = height, ChannelOrder = order, Layout = layout,
            Scale = 1f / 255f, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f], Resize = resize, ResizeShorterSide = shorter,
        };

    public static TheoryData<int, ChannelOrder, TensorLayout> Paths => new()
    {
        { 4, ChannelOrder.Rgb, TensorLayout.Nchw },
        { 4, ChannelOrder.Bgr, TensorLayout.Nhwc },
        { 4, ChannelOrder.Bgr, TensorLayout.Nchw },
        { 3, ChannelOrder.Rgb, TensorLayout.Nhwc },
        { 3, ChannelOrder.Bgr, TensorLayout.Nchw },
        { 3, ChannelOrder.Rgb, TensorLayout.Nchw },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Resample_StretchDownscale_MatchesTheReference(int bpp, ChannelOrder order, TensorLayout layout)
    {
        var p = Profile(20, 11, order, layout);
        var pixels = Image(37, 23, bpp);

        AssertMatches(Reference(pixels, 37, 23, bpp, p), Resample(pixels, 37, 23, bpp, p), p);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Resample_StretchUpscaleFromTinyImage_ClampsAtTheEdgesAndMatchesTheReference(int bpp, ChannelOrder order, TensorLayout layout)
    {
        // 3x2 -> 21x9: the outer output pixels sample before the first and past the last source pixel (clamped).
        var p = Profile(21, 9, order, layout);
        var pixels = Image(3, 2, bpp);

        AssertMatches(Reference(pixels, 3, 2, bpp, p), Resample(pixels, 3, 2, bpp, p), p);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    public void Resample_CropWideImage_CentreWindowMatchesTheReference(int bpp)
    {
        // 50x30, S=24: resized 40x24; crop 23x15 starts at round-half-even(8.5)=8, round-half-even(4.5)=4.
        var p = Profile(23, 15, ChannelOrder.Rgb, TensorLayout.Nchw, ResizeMode.ShorterSideCrop, shorter: 24);
        var pixels = Image(50, 30, bpp);

        AssertMatches(Reference(pixels, 50, 30, bpp, p), Resample(pixels, 50, 30, bpp, p), p);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    public void Resample_CropTallImage_CentreWindowMatchesTheReference(int bpp)
    {
        // 31x53, S=26: resized 26x44 (int(26*53/31) = 44); crop 21x25 from (2.5 -> 2, 9.5 -> 10).
        var p = Profile(21, 25, ChannelOrder.Bgr, TensorLayout.Nhwc, ResizeMode.ShorterSideCrop, shorter: 26);
        var pixels = Image(31, 53, bpp);

        AssertMatches(Reference(pixels, 31, 53, bpp, p), Resample(pixels, 31, 53, bpp, p), p);
    }

    [Fact]
    public void Resample_CropUpscalesSmallImage_MatchesTheReference()
    {
        // 9x7 -> shorter side 30 (resized 38x30), crop 24x22: every tap interpolates between neighbours.
        var p = Profile(24, 22, ChannelOrder.Rgb, TensorLayout.Nhwc, ResizeMode.ShorterSideCrop, shorter: 30);
        var pixels = Image(9, 7, 4);

        AssertMatches(Reference(pixels, 9, 7, 4, p), Resample(pixels, 9, 7, 4, p), p);
    }

    [Fact]
    public void Resample_SameSize_CopiesEachPixelNormalisedExactly()
    {
        var p = new PreprocessProfile { Width = 5, Height = 4, ChannelOrder = ChannelOrder.Rgb, Layout = TensorLayout.Nhwc, Scale = 2f, Mean = [10f, 20f, 30f], Std = [2f, 4f, 5f] };
        var pixels = Image(5, 4, 4);

        var output = Resample(pixels, 5, 4, 4, p);

        // Output (x, y) is source (x, y): weights 0, no neighbour mixed in.
        for (var y = 0; y < 4; y++)
        {
            for (var x = 0; x < 5; x++)
            {
                var at = ((y * 5) + x) * 4;
                Assert.Equal(((pixels[at] * 2.0) - 10) / 2, output[Index(p, x, y, 0)], 1e-4);
                Assert.Equal(((pixels[at + 1] * 2.0) - 20) / 4, output[Index(p, x, y, 1)], 1e-4);
                Assert.Equal(((pixels[at + 2] * 2.0) - 30) / 5, output[Index(p, x, y, 2)], 1e-4);
            }
        }
    }

    [Fact]
    public void Resample_SolidColour_EveryOutputExactlyTheNormalisedColour()
    {
        var p = new PreprocessProfile { Width = 7, Height = 3, ChannelOrder = ChannelOrder.Bgr, Layout = TensorLayout.Nchw, Scale = 1f, Mean = [103.939f, 116.779f, 123.68f], Std = [1f, 1f, 1f] };
        var pixels = new byte[13 * 11 * 3];
        for (var i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (200, 30, 60);
        }

        var output = Resample(pixels, 13, 11, 3, p);

        var plane = 7 * 3;
        Assert.All(output.AsSpan(0, plane).ToArray(), v => Assert.Equal(60 - 103.939f, v));
        Assert.All(output.AsSpan(plane, plane).ToArray(), v => Assert.Equal(30 - 116.779f, v));
        Assert.All(output.AsSpan(2 * plane, plane).ToArray(), v => Assert.Equal(200 - 123.68f, v));
    }

    [Fact]
    public void Resample_PixelBufferOneByteShort_Throws()
    {
        var p = Profile(4, 4, ChannelOrder.Rgb, TensorLayout.Nchw);

        var ex = Assert.Throws<ArgumentException>(() => ImagePreprocessor.Resample(new byte[(8 * 8 * 4) - 1], 8, 8, 4, p, new float[p.ElementsPerImage]));

        Assert.Contains("too small", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resample_DestinationOneFloatShort_Throws()
    {
        var p = Profile(4, 4, ChannelOrder.Rgb, TensorLayout.Nchw);

        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Resample(new byte[8 * 8 * 3], 8, 8, 3, p, new float[p.ElementsPerImage - 1]));
    }

    [Fact]
    public void Resample_BuffersOfExactlyTheNeededSize_Accepted()
    {
        var p = Profile(4, 4, ChannelOrder.Rgb, TensorLayout.Nchw);
        var pixels = Image(8, 8, 3, tail: 0);

        var output = new float[p.ElementsPerImage];
        ImagePreprocessor.Resample(pixels, 8, 8, 3, p, output);

        AssertMatches(Reference(pixels, 8, 8, 3, p), output, p);
    }
}
