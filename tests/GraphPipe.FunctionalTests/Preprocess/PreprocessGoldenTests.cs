using GraphPipe.Cli;
using GraphPipe.Imaging;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>
/// Real JPEGs against expected values computed by an independent implementation (Pillow decodes, NumPy
/// resizes and normalises; <c>tools/preprocess/make_golden.py</c> wrote the committed float16 fixtures).
/// Differences are measured in 0..255 pixel levels. Measured here (libjpeg-turbo 2.1.5 in Debian's
/// libturbojpeg0 and Pillow, SkiaSharp's own): mean 0.011 and worst 0.06 levels, for both decoders, which is
/// the float16 storage's rounding (at most 0.13 of a level); the tolerances leave room for that and no more.
/// </summary>
public sealed class PreprocessGoldenTests
{
    /// <summary>Largest mean absolute difference allowed, in pixel levels.</summary>
    internal const double MeanTolerance = 0.1;

    /// <summary>Largest absolute difference allowed at any one value, in pixel levels.</summary>
    internal const double MaxTolerance = 0.5;

    [Theory]
    [InlineData("sample-500x375.jpg", "vgg", "turbojpeg")]
    [InlineData("sample-500x375.jpg", "vgg", "skia")]
    [InlineData("rocket.jpg", "imagenet", "turbojpeg")]
    [InlineData("rocket.jpg", "imagenet", "skia")]
    public void Preprocess_RealJpeg_MatchesThePillowNumpyReference(string photo, string profileName, string decoder)
    {
        if (decoder == "turbojpeg")
        {
            Assert.SkipUnless(ImagePreprocessor.UsesTurboJpeg, "libturbojpeg is not available (Debian libturbojpeg0; .ci/run installs it)");
        }

        var profile = PreprocessProfile.Get(profileName);
        var output = new float[profile.ElementsPerImage];

        ImagePreprocessor.Preprocess(ReadPhoto(photo), profile, output, ImagePreprocessor.DefaultMaxPixels, decoder == "skia" ? DecoderChoice.Skia : DecoderChoice.Auto);

        AssertMatchesGolden(photo, profile, output);
    }

    /// <summary>The committed reference for <paramref name="photo"/> under <paramref name="profile"/>, as floats in the profile's layout.</summary>
    internal static float[] Golden(string photo, PreprocessProfile profile)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", "preprocess", $"{Path.GetFileNameWithoutExtension(photo)}-{profile.Name}.npy");
        var tensor = Npy.Read(File.ReadAllBytes(path), path);
        Assert.Equal(TensorType.Float16, tensor.Type);
        Assert.Equal(profile.Shape(1).ToArray(), tensor.Shape.ToArray());
        return tensor.ToArray<Half>().Select(h => (float)h).ToArray();
    }

    /// <summary>Compares per value in pixel levels (value * std / scale); reports the worst place on failure.</summary>
    internal static void AssertMatchesGolden(string photo, PreprocessProfile profile, ReadOnlySpan<float> output)
    {
        var golden = Golden(photo, profile);
        Assert.Equal(golden.Length, output.Length);
        double sum = 0, worst = 0;
        var worstAt = 0;
        var plane = profile.Width * profile.Height;
        for (var i = 0; i < golden.Length; i++)
        {
            var channel = profile.Layout == TensorLayout.Nchw ? i / plane : i % 3;
            var levels = Math.Abs(output[i] - golden[i]) * profile.Std[channel] / profile.Scale;
            sum += levels;
            if (levels > worst)
            {
                (worst, worstAt) = (levels, i);
            }
        }

        var mean = sum / golden.Length;
        Assert.True(mean <= MeanTolerance && worst <= MaxTolerance,
            $"{photo} ({profile.Name}): mean |diff| {mean:F3} levels (allowed {MeanTolerance}), worst {worst:F2} at index {worstAt} "
            + $"(ours {output[worstAt]}, reference {golden[worstAt]}; allowed {MaxTolerance})");
    }
}
