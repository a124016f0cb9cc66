using SkiaSharp;

namespace GraphPipe.Imaging;

/// <summary>
/// Test inputs the benchmarks derive at run time rather than commit (a 2000x1500 JPEG is ~0.5 MB of
/// repository weight for no information): shared by the BenchmarkDotNet project and the benchmark suite (<c>bench/GraphPipe.BenchSuite</c>),
/// so both measure the very same bytes.
/// </summary>
internal static class BenchImages
{
    /// <summary>The size of the large JPEG both benchmark suites preprocess.</summary>
    public const int LargeWidth = 2000;

    public const int LargeHeight = 1500;

    /// <summary>Decodes <paramref name="jpeg"/>, resizes it (Mitchell cubic) to the given size and encodes it as JPEG at <paramref name="quality"/>.</summary>
    public static byte[] UpscaleJpeg(byte[] jpeg, int width, int height, int quality = 90)
    {
        ArgumentNullException.ThrowIfNull(jpeg);
        using var source = SKBitmap.Decode(jpeg) ?? throw new InvalidImageException("the source image could not be decoded");
        using var target = source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell));
        using var data = target.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }
}
