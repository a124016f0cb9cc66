using System.Buffers.Binary;
using GraphPipe.Imaging;
using SkiaSharp;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.UnitTests;

/// <summary>
/// <see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, PreprocessProfile, Span{float}, long)"/> in process with
/// the real codecs: format sniffing, the decompression-bomb checks on the header, and decoded values against
/// pixels set here (lossless formats) or a reference resample of SkiaSharp's full decode (JPEG).
/// </summary>
public sealed class ImagePreprocessorTests
{
    private static readonly PreprocessProfile Raw = new() { Name = "raw", Width = 8, Height = 6, ChannelOrder = ChannelOrder.Rgb, Layout = TensorLayout.Nhwc, Scale = 1f, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };

    private static InvalidImageException Refused(byte[] bytes, long maxPixels = ImagePreprocessor.DefaultMaxPixels)
        => Assert.Throws<InvalidImageException>(() => ImagePreprocessor.Preprocess(bytes, Raw, new float[Raw.ElementsPerImage], maxPixels));

    private static byte[] Padded(ReadOnlySpan<byte> prefix, int length)
    {
        var bytes = new byte[length];
        prefix.CopyTo(bytes);
        for (var i = prefix.Length; i < length; i++) bytes[i] = (byte)(i * 7);
        return bytes;
    }

    /// <summary>An 8x6 image, every pixel different.</summary>
    private static SKBitmap Gradient(int width = 8, int height = 6)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 30), (byte)((y * 40) + 5), (byte)(((x + y) * 13) + 50)));
            }
        }

        return bitmap;
    }

    private static void AssertPixelsExact(SKBitmap image, float[] output, PreprocessProfile p)
    {
        for (var y = 0; y < p.Height; y++)
        {
            for (var x = 0; x < p.Width; x++)
            {
                var c = image.GetPixel(x, y);
                Assert.Equal([c.Red, c.Green, c.Blue], new[] { output[Index(p, x, y, 0)], output[Index(p, x, y, 1)], output[Index(p, x, y, 2)] });
            }
        }
    }

    private static byte[] GifHeader(int width, int height)
    {
        var bytes = Padded("GIF89a"u8, 10);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)height);
        return bytes;
    }

    private static byte[] BmpHeader(int width, int height)
    {
        var bytes = Padded("BM"u8, 26);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), height);
        return bytes;
    }

    [Fact]
    public void Preprocess_Empty_RefusedAsEmpty()
    {
        Assert.Equal("empty (0 bytes), expected an encoded image", Refused([]).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0x00, 0xE0 })]
    [InlineData(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0B, 0, 0 })]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'8', (byte)'a', 1, 0, 1, 0 })]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 0, 0, 0, 0, (byte)'W', (byte)'E', (byte)'B', (byte)'Q' })]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 0, 0, 0, 0, (byte)'W', (byte)'E', (byte)'B' })]
    [InlineData(new byte[] { (byte)'B', (byte)'M', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { (byte)'A' })]
    public void Preprocess_NoKnownSignature_RefusedListingTheFormats(byte[] bytes)
    {
        Assert.Equal("not a supported image (JPEG, PNG, GIF, BMP, WebP)", Refused(bytes).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF }, "corrupt JPEG")]
    [InlineData(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, "corrupt PNG")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'7', (byte)'a' }, "corrupt GIF")]
    [InlineData(new byte[] { (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a' }, "corrupt GIF")]
    [InlineData(new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F', 9, 9, 9, 9, (byte)'W', (byte)'E', (byte)'B', (byte)'P' }, "corrupt WEBP")]
    public void Preprocess_SignatureThenGarbage_RefusedAsCorruptOfThatFormat(byte[] signature, string expected)
    {
        var ex = Refused(Padded(signature, signature.Length + 3));

        Assert.StartsWith(expected + ": ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_TwentySixByteBmpHeaderClaimingHugeSize_RefusedBeforeDecoding()
    {
        Assert.Equal("100000x100000 pixels exceeds the limit of 40000000", Refused(BmpHeader(100_000, 100_000)).Message);
    }

    [Fact]
    public void Preprocess_TopDownBmpHeader_NegativeHeightCountedAsItsSize()
    {
        Assert.Equal("10001x4000 pixels exceeds the limit of 40000000", Refused(BmpHeader(10_001, -4000)).Message);
    }

    [Fact]
    public void Preprocess_NegativeWidthBmpHeader_CountedAsItsSize()
    {
        Assert.Equal("7x3 pixels exceeds the limit of 20", Refused(BmpHeader(-7, 3), maxPixels: 20).Message);
    }

    [Fact]
    public void Preprocess_PngHeaderOverTheLimit_RefusedNamingBothSizes()
    {
        Assert.Equal("70000x60000 pixels exceeds the limit of 40000000", Refused(PngHeaderOnly(70_000, 60_000)).Message);
    }

    [Fact]
    public void Preprocess_PngHeaderCutAtTwentyFourBytes_StillCheckedBeforeDecoding()
    {
        Assert.Equal("70000x60000 pixels exceeds the limit of 40000000", Refused(PngHeaderOnly(70_000, 60_000)[..24]).Message);
    }

    [Fact]
    public void Preprocess_PngHeaderOneByteShortOfTheSize_LeftToTheDecoder()
    {
        Assert.StartsWith("corrupt PNG", Refused(PngHeaderOnly(70_000, 60_000)[..23]).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_PngHeaderExactlyAtTheLimit_NotRefusedForItsSize()
    {
        var ex = Refused(PngHeaderOnly(1000, 1000), maxPixels: 1_000_000);

        Assert.DoesNotContain("exceeds", ex.Message, StringComparison.Ordinal);
        Assert.Equal("1000x1000 pixels exceeds the limit of 999999", Refused(PngHeaderOnly(1000, 1000), maxPixels: 999_999).Message);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(5, 0)]
    public void Preprocess_PngHeaderWithAZeroSide_RefusedAsEmpty(int width, int height)
    {
        Assert.Equal($"{width}x{height} pixels: the image is empty", Refused(PngHeaderOnly(width, height)).Message);
    }

    [Fact]
    public void Preprocess_GifHeaderOverTheLimit_RefusedFromTheTenByteHeader()
    {
        Assert.Equal("60000x50000 pixels exceeds the limit of 40000000", Refused(GifHeader(60_000, 50_000)).Message);
    }

    [Fact]
    public void Preprocess_GifHeaderOfNineBytes_LeftToTheDecoder()
    {
        Assert.StartsWith("corrupt GIF", Refused(GifHeader(60_000, 50_000)[..9]).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_DecodedSizeOverTheLimit_RefusedByTheDecodersSize()
    {
        using var image = Gradient(8, 6);

        Assert.Equal("8x6 pixels exceeds the limit of 47", Refused(WebPLossless(image), maxPixels: 47).Message);
        Assert.Equal("8x6 pixels exceeds the limit of 47", Refused(Jpeg(image), maxPixels: 47).Message);
    }

    [Fact]
    public void Preprocess_DestinationOneFloatShort_ArgumentExceptionNamingTheNeed()
    {
        using var image = Gradient();

        var ex = Assert.Throws<ArgumentException>(() => ImagePreprocessor.Preprocess(Png(image), Raw, new float[Raw.ElementsPerImage - 1]));

        Assert.Equal("destination", ex.ParamName);
        Assert.StartsWith($"destination holds {Raw.ElementsPerImage - 1} floats; profile 'raw' needs {Raw.ElementsPerImage}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_DestinationOfExactlyOneImage_Filled()
    {
        using var image = Gradient();
        var output = new float[Raw.ElementsPerImage];

        ImagePreprocessor.Preprocess(Png(image), Raw, output);

        AssertPixelsExact(image, output, Raw);
    }

    [Fact]
    public void Preprocess_LosslessFormatsAtTheProfileSize_EveryPixelExact()
    {
        using var image = Gradient();

        foreach (var encoded in new[] { Png(image), WebPLossless(image), Bmp(image) })
        {
            AssertPixelsExact(image, Run(encoded, Raw), Raw);
        }
    }

    [Fact]
    public void Preprocess_AnimatedGif_FirstFrameOnly()
    {
        var output = Run(TwoFrameGif(8, 6, Red, Green), Raw);

        Assert.All(Enumerable.Range(0, 8 * 6), i => Assert.Equal([Red.R, Red.G, Red.B], output.AsSpan(i * 3, 3).ToArray()));
    }

    [Fact]
    public void Preprocess_PngResizedAndNormalised_MatchesTheReference()
    {
        using var image = Gradient(8, 6);
        var p = Raw.With(width: 5, height: 9, channelOrder: ChannelOrder.Bgr, layout: TensorLayout.Nchw, mean: [1f, 2f, 3f], std: [0.5f, 2f, 4f], scale: 0.5f);

        var output = Run(Png(image), p);

        var reference = Reference(image, p);
        Assert.True(MeanAbsDiff(output, reference) < 1e-4, $"mean abs diff {MeanAbsDiff(output, reference)}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Preprocess_LargeJpeg_ScaledDecodeStaysCloseToAFullDecode(bool skia)
    {
        var decoder = skia ? DecoderChoice.Skia : DecoderChoice.Auto;
        // 896 -> 224: DCT scaling to 1/4 covers the target exactly; a coarser scale would lose the 8-pixel stripes.
        using var image = new SKBitmap(new SKImageInfo(896, 896, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 896; y++)
        {
            for (var x = 0; x < 896; x++)
            {
                var on = ((x / 8) + (y / 8)) % 2 == 0;
                image.SetPixel(x, y, on ? new SKColor(230, 200, 20) : new SKColor(20, 40, 210));
            }
        }

        var jpeg = Jpeg(image, 98);
        using var decoded = DecodeFull(jpeg);
        var p = PreprocessProfile.Get("resnet18");
        var output = new float[p.ElementsPerImage];

        ImagePreprocessor.Preprocess(jpeg, p, output, ImagePreprocessor.DefaultMaxPixels, decoder);

        var diff = MeanAbsDiff(output, Reference(decoded, p));
        Assert.True(diff < 4, $"mean abs diff {diff} against a full decode");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Preprocess_SmallJpeg_FullSizeDecodeCloseToTheSource(bool skia)
    {
        var decoder = skia ? DecoderChoice.Skia : DecoderChoice.Auto;
        using var image = Quadrants(64, 48);
        var p = Raw.With(width: 64, height: 48);
        var output = new float[p.ElementsPerImage];

        ImagePreprocessor.Preprocess(Jpeg(image, 100), p, output, ImagePreprocessor.DefaultMaxPixels, decoder);

        foreach (var (x, y) in new[] { (5, 5), (58, 5), (5, 42), (58, 42) })
        {
            var colour = QuadrantAt(x, y, 32, 24);
            for (var c = 0; c < 3; c++)
            {
                Assert.InRange(output[Index(p, x, y, c)], colour[c] - 6, colour[c] + 6);
            }
        }
    }

    [Fact]
    public void Preprocess_CorruptJpegBody_RefusedAsCorruptJpeg()
    {
        using var image = Quadrants(64, 48);
        var jpeg = Jpeg(image, 90);
        // Headers intact, the entropy-coded scan cut short.
        var cut = jpeg[..(jpeg.Length * 3 / 4)];

        foreach (var decoder in new[] { DecoderChoice.Auto, DecoderChoice.Skia })
        {
            var ex = Assert.Throws<InvalidImageException>(() => ImagePreprocessor.Preprocess(cut, Raw, new float[Raw.ElementsPerImage], ImagePreprocessor.DefaultMaxPixels, decoder));
            Assert.StartsWith("corrupt JPEG: ", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Resample_ReturnsItsTapTablesToThePool()
    {
        var p = Raw.With(width: 40, height: 3);
        using var indices = new PoolProbe<int>(80);
        using var weights = new PoolProbe<float>(40);

        ImagePreprocessor.Resample(new byte[20 * 10 * 4], 20, 10, 4, p, new float[p.ElementsPerImage]);

        Assert.Same(indices.Known, indices.RentTwo().First);
        Assert.Same(weights.Known, weights.RentTwo().First);
    }

    [Fact]
    public void Preprocess_Png_DecodeBufferBackInThePoolOnce()
    {
        using var image = Gradient();
        var png = Png(image);
        using var probe = new PoolProbe<byte>(8 * 6 * 4);

        ImagePreprocessor.Preprocess(png, Raw, new float[Raw.ElementsPerImage]);

        var (first, second) = probe.RentTwo();
        Assert.Same(probe.Known, first);
        Assert.NotSame(first, second);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Preprocess_JpegCutShort_DecodeBufferBackInThePoolOnce(bool skia)
    {
        using var image = Quadrants(64, 48);
        var jpeg = Jpeg(image, 90);
        var cut = jpeg[..(jpeg.Length * 3 / 4)];
        using var probe = new PoolProbe<byte>(64 * 48 * 4);

        Assert.Throws<InvalidImageException>(() => ImagePreprocessor.Preprocess(cut, Raw, new float[Raw.ElementsPerImage], ImagePreprocessor.DefaultMaxPixels, skia ? DecoderChoice.Skia : DecoderChoice.Auto));

        var (first, second) = probe.RentTwo();
        Assert.Same(probe.Known, first);
        Assert.NotSame(first, second);
    }

    /// <summary>A GIF89a of <paramref name="width"/>x<paramref name="height"/> whose only frame covers the left <paramref name="frameWidth"/> columns, in red.</summary>
    private static byte[] PartialFrameGif(int width, int height, int frameWidth)
    {
        var gif = new List<byte>();
        gif.AddRange("GIF89a"u8.ToArray());
        gif.AddRange([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8)]);
        gif.AddRange([0xF1, 0, 0]); // global colour table of 4 entries
        gif.AddRange([Red.R, Red.G, Red.B, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        gif.Add(0x2C);
        gif.AddRange([0, 0, 0, 0, (byte)frameWidth, (byte)(frameWidth >> 8), (byte)height, (byte)(height >> 8), 0]);
        gif.Add(2); // LZW minimum code size: codes of 3 bits, clear = 4, end = 5
        var bits = new List<bool>();
        void Emit(int code)
        {
            for (var b = 0; b < 3; b++) bits.Add(((code >> b) & 1) != 0);
        }

        for (var i = 0; i < frameWidth * height; i++)
        {
            Emit(4);
            Emit(0);
        }

        Emit(5);
        var data = new byte[(bits.Count + 7) / 8];
        for (var i = 0; i < bits.Count; i++)
        {
            if (bits[i]) data[i / 8] |= (byte)(1 << (i % 8));
        }

        for (var offset = 0; offset < data.Length; offset += 255)
        {
            var n = Math.Min(255, data.Length - offset);
            gif.Add((byte)n);
            gif.AddRange(data.AsSpan(offset, n).ToArray());
        }

        gif.Add(0);
        gif.Add(0x3B);
        return [.. gif];
    }

    [Fact]
    public void Preprocess_GifFrameCoveringPartOfTheCanvas_RestIsZeroNotStalePoolBytes()
    {
        // The pooled decode buffer is dirty (0xAB everywhere): the GIF decoder does not write what the frame leaves uncovered.
        using var probe = new PoolProbe<byte>(8 * 6 * 4, a => a.AsSpan().Fill(0xAB));

        var output = Run(PartialFrameGif(8, 6, frameWidth: 4), Raw);

        for (var y = 0; y < 6; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                float[] expected = x < 4 ? [Red.R, Red.G, Red.B] : [0, 0, 0];
                Assert.Equal(expected, new[] { output[Index(Raw, x, y, 0)], output[Index(Raw, x, y, 1)], output[Index(Raw, x, y, 2)] });
            }
        }
    }

    [Fact]
    public void Preprocess_TwelveByteWebPSignature_SniffedAsWebP()
    {
        var ex = Refused([.. "RIFF"u8, 4, 0, 0, 0, .. "WEBP"u8]);

        Assert.StartsWith("corrupt WEBP", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_NullProfile_ArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => ImagePreprocessor.Preprocess(new byte[] { 1 }, null!, new float[3]));
    }

    /// <summary>
    /// 64x64, vertical stripes: in every 8 columns, 5 white then 3 black. Decoded at 1/8 (each 8x8 DCT block to its
    /// mean) it is uniform 5/8 * 255; at 1/4 its columns alternate 255 (4 white) and 255/4 (1 white of 4).
    /// </summary>
    private static byte[] StripesJpeg()
    {
        using var image = new SKBitmap(new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 64; y++)
        {
            for (var x = 0; x < 64; x++)
            {
                image.SetPixel(x, y, x % 8 < 5 ? SKColors.White : SKColors.Black);
            }
        }

        return Jpeg(image, 100);
    }

    private static float[] RunWith(byte[] encoded, PreprocessProfile p, bool skia)
    {
        var output = new float[p.ElementsPerImage];
        ImagePreprocessor.Preprocess(encoded, p, output, ImagePreprocessor.DefaultMaxPixels, skia ? DecoderChoice.Skia : DecoderChoice.Auto);
        return output;
    }

    /// <summary>Channel 0 of row <paramref name="y"/>.</summary>
    private static double[] Row(float[] output, PreprocessProfile p, int y) => [.. Enumerable.Range(0, p.Width).Select(x => (double)output[Index(p, x, y, 0)])];

    private static double MeanAbs(double[] a, double[] b) => a.Zip(b, (u, v) => Math.Abs(u - v)).Average();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Preprocess_JpegStretchedToSevenOfSixtyFour_DecodedAtOneEighthToBlockMeans(bool skia)
    {
        // 1/8 (8x8) is the smallest scale covering 7x7: every output is the stripes' mean; a finer decode shows the stripes.
        var p = Raw.With(width: 7, height: 7);

        var output = RunWith(StripesJpeg(), p, skia);

        Assert.All(output, v => Assert.InRange(v, (5 * 255 / 8.0) - 6, (5 * 255 / 8.0) + 6));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Preprocess_JpegStretchedToSevenByTwelve_DecodedAtOneQuarterWhereOneEighthIsTooShort(bool skia)
    {
        // 1/8 is 8 rows, short of 12: both sides must be covered, so 1/4 (16x16), whose columns alternate 255 and 63.75.
        var p = Raw.With(width: 7, height: 12);
        var expected = Enumerable.Range(0, 7).Select(x =>
        {
            var sx = ((x + 0.5) * 16 / 7) - 0.5;
            int x0 = (int)sx, x1 = Math.Min(x0 + 1, 15);
            double At(int c) => c % 2 == 0 ? 255 : 63.75;
            return At(x0) + ((At(x1) - At(x0)) * (sx - x0));
        }).ToArray();

        var output = RunWith(StripesJpeg(), p, skia);

        for (var y = 0; y < 12; y++)
        {
            var diff = MeanAbs(expected, Row(output, p, y));
            Assert.True(diff < 12, $"row {y}: mean abs diff {diff} from the 1/4 decode's columns");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Preprocess_JpegCroppedAtFullSize_ShorterSideDecidesTheDecodeScaleNotTheCrop(bool skia)
    {
        // Shorter side 64 of a 64x64 image: a full-size decode; the 7x7 centre crop starts at round-half-even(28.5) = 28.
        var p = Raw.With(width: 7, height: 7, resize: ResizeMode.ShorterSideCrop, resizeShorterSide: 64);
        double[] expected = [255, 0, 0, 0, 255, 255, 255];

        var output = RunWith(StripesJpeg(), p, skia);

        for (var y = 0; y < 7; y++)
        {
            var diff = MeanAbs(expected, Row(output, p, y));
            Assert.True(diff < 12, $"row {y}: mean abs diff {diff} from columns 28..34 of the stripes");
        }
    }

    [Fact]
    public void Preprocess_JpegDecodedByTurboJpeg_NotDecodedAgainBySkia()
    {
        Assert.SkipUnless(ImagePreprocessor.UsesTurboJpeg, "libturbojpeg is not installed");
        using var image = Gradient(64, 48);
        var jpeg = Jpeg(image, 90);
        using var probe = new PoolProbe<byte>(64 * 48 * 4);

        ImagePreprocessor.Preprocess(jpeg, Raw.With(width: 64, height: 48), new float[64 * 48 * 3]);

        // TurboJPEG's buffer (the probe's) is the one decoded into and returned; a second decode would rent another.
        var (first, second) = probe.RentTwo();
        Assert.Same(probe.Known, first);
        Assert.NotSame(first, second);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Preprocess_JpegWithDamagedScan_DecoderRefusesItAndReturnsItsBuffer(bool skia)
    {
        Assert.SkipUnless(skia || ImagePreprocessor.UsesTurboJpeg, "libturbojpeg is not installed");
        var noise = new SKBitmap(new SKImageInfo(64, 48, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var random = new Random(13);
        for (var y = 0; y < 48; y++)
        {
            for (var x = 0; x < 64; x++)
            {
                noise.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }

        var jpeg = Jpeg(noise, 95);
        noise.Dispose();
        // Headers intact (noise makes the entropy-coded scan most of the file), the scan cut short.
        var cut = jpeg[..(jpeg.Length * 3 / 4)];
        using var probe = new PoolProbe<byte>(64 * 48 * 4);

        var ex = Assert.Throws<InvalidImageException>(() => ImagePreprocessor.Preprocess(cut, Raw.With(width: 64, height: 48), new float[64 * 48 * 3], ImagePreprocessor.DefaultMaxPixels, skia ? DecoderChoice.Skia : DecoderChoice.Auto));

        // The header was read (the decoder got as far as the pixels): SkiaSharp names its result, TurboJPEG its error.
        Assert.StartsWith(skia ? "corrupt JPEG: IncompleteInput" : "corrupt JPEG: ", ex.Message, StringComparison.Ordinal);
        var (first, second) = probe.RentTwo();
        Assert.Same(probe.Known, first);
        Assert.NotSame(first, second);
    }
}
