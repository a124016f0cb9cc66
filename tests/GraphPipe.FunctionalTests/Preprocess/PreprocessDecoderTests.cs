using GraphPipe.Imaging;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>The libturbojpeg fast path against the SkiaSharp path, and real photos.</summary>
public sealed class PreprocessDecoderTests
{
    private static float[] Run(byte[] encoded, PreprocessProfile p, DecoderChoice decoder)
    {
        var output = new float[p.ElementsPerImage];
        ImagePreprocessor.Preprocess(encoded, p, output, ImagePreprocessor.DefaultMaxPixels, decoder);
        return output;
    }

    private const string TurboJpegLibrary = "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0";

    [Fact]
    public void TurboJpeg_OnThisMachine_IsUsedWhenInstalled()
    {
        // Without the Debian package libturbojpeg0 (or with GP_DISABLE_TURBOJPEG) there is nothing to check: skip, never pass.
        Assert.SkipUnless(File.Exists(TurboJpegLibrary), $"libturbojpeg0 is not installed ({TurboJpegLibrary} is missing; .ci/run installs it)");
        Assert.SkipWhen(Environment.GetEnvironmentVariable("GP_DISABLE_TURBOJPEG") is "1" or "true", "GP_DISABLE_TURBOJPEG turns libturbojpeg off");
        Assert.True(ImagePreprocessor.UsesTurboJpeg, $"{TurboJpegLibrary} is installed but the preprocessor does not load it");
    }

    [Theory]
    [InlineData("sample-500x375.jpg", "resnet18")]
    [InlineData("rocket.jpg", "resnet18")]
    [InlineData("rocket.jpg", "imagenet")]
    [InlineData("camera-gray-512.jpg", "vgg")]
    public void Preprocess_SameJpegThroughTurboJpegAndSkia_GivesNearIdenticalTensors(string photo, string profile)
    {
        // Without libturbojpeg, Auto is Skia too and the comparison would compare Skia with itself.
        Assert.SkipUnless(ImagePreprocessor.UsesTurboJpeg, "libturbojpeg is not available (Debian libturbojpeg0; .ci/run installs it)");
        var p = PreprocessProfile.Get(profile);
        var jpeg = ReadPhoto(photo);

        var turbo = Run(jpeg, p, DecoderChoice.Auto);
        var skia = Run(jpeg, p, DecoderChoice.Skia);

        // Both decode with the same DCT scaling; IDCT/upsampling implementations differ by a level or so.
        var diff = MeanAbsDiff(turbo, skia) / (p.Scale / p.Std[0]);
        Assert.True(diff < 2.5, $"mean abs diff {diff} (in 0..255 pixel units)");
    }

    [Theory]
    [InlineData("sample-500x375.jpg")]
    [InlineData("rocket.jpg")]
    [InlineData("chelsea.png")]
    public void Preprocess_Photo_MatchesFullDecodePlusBilinearReference(string photo)
    {
        var p = PreprocessProfile.Get("resnet18");
        var encoded = ReadPhoto(photo);
        using var decoded = DecodeFull(encoded);

        var output = TestImages.Run(encoded, p);
        var reference = Reference(decoded, p);

        // PNG takes the same path as the reference; JPEG is decoded at a DCT-reduced size first.
        var diff = MeanAbsDiff(output, reference);
        Assert.True(diff < (photo.EndsWith(".png", StringComparison.Ordinal) ? 0.01 : 4.0), $"mean abs diff {diff}");
    }

    [Fact]
    public void Preprocess_LargeJpeg_DecodesAtAReducedScaleStillCoveringTheTarget()
    {
        // libjpeg-turbo scales by n/8: 1/8 gives 250x188 (too short), so 2/8 (500x375) is the smallest cover.
        var (w, h) = TurboJpegScaledSize(2000, 1500, 224, 224);
        Assert.Equal((500, 375), (w, h));
    }

    private static (int Width, int Height) TurboJpegScaledSize(int w, int h, int mw, int mh)
    {
        Assert.SkipUnless(ImagePreprocessor.UsesTurboJpeg, "libturbojpeg is not installed");
        return TurboJpeg.ScaledSize(w, h, mw, mh);
    }
}

/// <summary>The scalar resample pass (3 bytes a pixel, also the no-SIMD fallback) against the vector one (4 bytes a pixel).</summary>
public sealed class PreprocessResampleTests
{
    [Theory]
    [InlineData("vgg")]
    [InlineData("imagenet")]
    [InlineData("resnet18")]
    public void Resample_RgbAndRgbxOfTheSamePixels_GiveTheSameTensor(string profile)
    {
        var p = PreprocessProfile.Get(profile);
        const int W = 301, H = 257;
        var random = new Random(3);
        var rgb = new byte[W * H * 3];
        random.NextBytes(rgb);
        var rgbx = new byte[W * H * 4];
        for (var i = 0; i < W * H; i++)
        {
            rgb.AsSpan(i * 3, 3).CopyTo(rgbx.AsSpan(i * 4));
            rgbx[(i * 4) + 3] = 255;
        }

        var scalar = new float[p.ElementsPerImage];
        var vector = new float[p.ElementsPerImage];
        ImagePreprocessor.Resample(rgb, W, H, 3, p, scalar);
        ImagePreprocessor.Resample(rgbx, W, H, 4, p, vector);

        Assert.True(TestImages.MeanAbsDiff(scalar, vector) < 1e-5, $"mean abs diff {TestImages.MeanAbsDiff(scalar, vector)}");
        Assert.Equal(scalar.Min(), vector.Min(), 4);
        Assert.Equal(scalar.Max(), vector.Max(), 4);
    }
}
