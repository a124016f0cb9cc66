using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace GraphPipe.Imaging;

/// <summary>Which decoder handled an image (for tests and benchmarks).</summary>
internal enum DecoderChoice
{
    /// <summary>libturbojpeg for JPEG when available, SkiaSharp otherwise.</summary>
    Auto,

    /// <summary>SkiaSharp for every format.</summary>
    Skia,
}

/// <summary>
/// Turns one encoded image into model-ready floats: decode (JPEG with DCT-domain downscaling), then one
/// fused pass of bilinear resize or crop, channel order, normalisation and layout.
/// </summary>
public static class ImagePreprocessor
{
    /// <summary>Default decompression-bomb limit on the source image's width * height.</summary>
    public const long DefaultMaxPixels = 40_000_000;

    public const string SupportedFormats = "JPEG, PNG, GIF, BMP, WebP";

    /// <summary>True when JPEG decoding uses libturbojpeg (otherwise SkiaSharp).</summary>
    public static bool UsesTurboJpeg => TurboJpeg.IsAvailable;

    /// <summary>
    /// Decodes <paramref name="encoded"/> and writes <c>profile.Width * profile.Height * 3</c> floats in the
    /// profile's layout (one image: <c>[H,W,3]</c> or <c>[3,H,W]</c>) into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="InvalidImageException">The bytes are not a supported image, are corrupt, or the image has more than <paramref name="maxPixels"/> pixels.</exception>
    public static void Preprocess(ReadOnlySpan<byte> encoded, PreprocessProfile profile, Span<float> destination, long maxPixels = DefaultMaxPixels)
        => Preprocess(encoded, profile, destination, maxPixels, DecoderChoice.Auto);

    internal static void Preprocess(ReadOnlySpan<byte> encoded, PreprocessProfile profile, Span<float> destination, long maxPixels, DecoderChoice decoder)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (destination.Length < profile.ElementsPerImage)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats; profile '{profile.Name}' needs {profile.ElementsPerImage}", nameof(destination));
        }

        var format = Sniff(encoded);
        CheckHeaderSize(encoded, format, maxPixels);
        var (minWidth, minHeight) = MinimumDecodeSize(profile);

        byte[]? pixels = null;
        try
        {
            int width, height, bytesPerPixel;
            if (format == ImageFormat.Jpeg && decoder == DecoderChoice.Auto && TurboJpeg.IsAvailable
                && TryDecodeTurbo(encoded, maxPixels, minWidth, minHeight, out pixels, out width, out height))
            {
                bytesPerPixel = 4;
            }
            else
            {
                pixels = DecodeSkia(encoded, format, maxPixels, minWidth, minHeight, out width, out height);
                bytesPerPixel = 4;
            }

            Resample(pixels, width, height, bytesPerPixel, profile, destination);
        }
        finally
        {
            if (pixels is not null)
            {
                ArrayPool<byte>.Shared.Return(pixels);
            }
        }
    }

    private enum ImageFormat
    {
        Jpeg,
        Png,
        Gif,
        Bmp,
        WebP,
    }

    private static ImageFormat Sniff(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new InvalidImageException("empty (0 bytes), expected an encoded image");
        }

        if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return ImageFormat.Jpeg;
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return ImageFormat.Png;
        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8)) return ImageFormat.Gif;
        if (data.StartsWith("BM"u8) && data.Length >= 26) return ImageFormat.Bmp;
        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8)) return ImageFormat.WebP;
        throw new InvalidImageException($"not a supported image ({SupportedFormats})");
    }

    /// <summary>
    /// Reads the declared size straight from the header of formats where it is at a fixed place, so that a
    /// decompression bomb is refused before any decoder allocates for it.
    /// </summary>
    private static void CheckHeaderSize(ReadOnlySpan<byte> data, ImageFormat format, long maxPixels)
    {
        long width, height;
        switch (format)
        {
            case ImageFormat.Png when data.Length >= 24:
                width = BinaryPrimitives.ReadUInt32BigEndian(data[16..]);
                height = BinaryPrimitives.ReadUInt32BigEndian(data[20..]);
                break;
            case ImageFormat.Gif when data.Length >= 10:
                width = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
                height = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
                break;
            case ImageFormat.Bmp:
                width = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[18..]));
                height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(data[22..]));
                break;
            default:
                return;
        }

        CheckPixels(width, height, maxPixels);
    }

    private static void CheckPixels(long width, long height, long maxPixels)
    {
        if (width * height > maxPixels)
        {
            throw new InvalidImageException($"{width}x{height} pixels exceeds the limit of {maxPixels}");
        }

        if (width <= 0 || height <= 0)
        {
            throw new InvalidImageException($"{width}x{height} pixels: the image is empty");
        }
    }

    /// <summary>The smallest decoded size that still has at least one source pixel per output pixel.</summary>
    private static (int Width, int Height) MinimumDecodeSize(PreprocessProfile profile)
        => profile.Resize == ResizeMode.Stretch
            ? (profile.Width, profile.Height)
            : (profile.ResizeShorterSide, profile.ResizeShorterSide);

    private static bool TryDecodeTurbo(ReadOnlySpan<byte> data, long maxPixels, int minWidth, int minHeight, out byte[]? pixels, out int width, out int height)
    {
        pixels = null;
        using var decompressor = TurboJpeg.Decompressor.Rent();
        if (!decompressor.ReadHeader(data, out var fullWidth, out var fullHeight, out var needsFallback, out var error))
        {
            throw new InvalidImageException($"corrupt JPEG: {error}");
        }

        CheckPixels(fullWidth, fullHeight, maxPixels);
        if (needsFallback)
        {
            (width, height) = (0, 0);
            return false;
        }

        // In crop mode both minimums are the shorter side S, so "both sides >= S" is exactly "shorter side >= S".
        (width, height) = TurboJpeg.ScaledSize(fullWidth, fullHeight, Math.Min(minWidth, fullWidth), Math.Min(minHeight, fullHeight));
        // RGBX rather than RGB: one 4-byte load per tap in the resample pass.
        var length = checked(width * height * 4);
        pixels = ArrayPool<byte>.Shared.Rent(length);
        var failure = decompressor.DecodeRgb(data, pixels.AsSpan(0, length), width, height, bytesPerPixel: 4);
        if (failure is not null)
        {
            ArrayPool<byte>.Shared.Return(pixels);
            pixels = null;
            throw new InvalidImageException($"corrupt JPEG: {failure}");
        }

        return true;
    }

    private static unsafe byte[] DecodeSkia(ReadOnlySpan<byte> data, ImageFormat format, long maxPixels, int minWidth, int minHeight, out int width, out int height)
    {
        SKData skData;
        fixed (byte* p = data)
        {
            skData = SKData.CreateCopy((nint)p, (ulong)data.Length);
        }

        using (skData)
        using (var codec = SKCodec.Create(skData))
        {
            if (codec is null)
            {
                throw new InvalidImageException($"corrupt {format.ToString().ToUpperInvariant()}: the decoder cannot read its header");
            }

            var info = codec.Info;
            CheckPixels(info.Width, info.Height, maxPixels);

            // Only JPEG scales while decoding; other codecs answer their full size.
            (width, height) = (info.Width, info.Height);
            if (format == ImageFormat.Jpeg)
            {
                // GetScaledDimensions rounds to the nearest supported n/8, possibly below the target: take
                // the smallest of 1/8, 1/4, 1/2 (the fast reduced IDCTs, as for TurboJPEG) that covers it.
                foreach (var factor in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.5f])
                {
                    var scaled = codec.GetScaledDimensions(factor);
                    if (scaled.Width >= Math.Min(minWidth, info.Width) && scaled.Height >= Math.Min(minHeight, info.Height))
                    {
                        (width, height) = (scaled.Width, scaled.Height);
                        break;
                    }
                }
            }

            var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var length = checked(width * height * 4);
            var pixels = ArrayPool<byte>.Shared.Rent(length);
            // Stryker disable once all : SkiaSharp's GIF codec itself fills what frame 0 leaves uncovered (default options, ZeroInitialized = No; ImagePreprocessorTests shows it with a dirty pooled buffer), so this clear is a second line of defence that no test can tell from its absence
            if (format == ImageFormat.Gif)
            {
                // A GIF frame may cover only part of the canvas; the rest must not be stale pool bytes.
                pixels.AsSpan(0, length).Clear();
            }

            SKCodecResult result;
            fixed (byte* dst = pixels)
            {
                // Frame 0 for animated GIF/WebP (the default options).
                result = codec.GetPixels(target, (nint)dst, target.RowBytes, new SKCodecOptions(0));
            }

            if (result != SKCodecResult.Success)
            {
                ArrayPool<byte>.Shared.Return(pixels);
                throw new InvalidImageException($"corrupt {format.ToString().ToUpperInvariant()}: {result}");
            }

            return pixels;
        }
    }

    /// <summary>
    /// The fused pass: for each output pixel, bilinear sample (half-pixel centres) from the stretch or crop
    /// window of the decoded image, reorder channels, normalise, and write at the layout's position.
    /// </summary>
    internal static unsafe void Resample(ReadOnlySpan<byte> pixels, int width, int height, int bytesPerPixel, PreprocessProfile profile, Span<float> destination)
    {
        int outW = profile.Width, outH = profile.Height;

        // The window of the source, in source pixels, that maps onto the output.
        double left = 0, top = 0, windowW = width, windowH = height;
        if (profile.Resize == ResizeMode.ShorterSideCrop)
        {
            // torchvision: shorter side -> S, longer side -> int(S * long / short); then the centre crop with round().
            int resizedW, resizedH;
            var s = profile.ResizeShorterSide;
            // Stryker disable once Equality : for a square image both branches give (S, S)
            if (width <= height)
            {
                (resizedW, resizedH) = (s, (int)((long)s * height / width));
            }
            else
            {
                (resizedW, resizedH) = ((int)((long)s * width / height), s);
            }

            double fx = (double)width / resizedW, fy = (double)height / resizedH;
            var cropLeft = (int)Math.Round((resizedW - outW) / 2.0, MidpointRounding.ToEven);
            var cropTop = (int)Math.Round((resizedH - outH) / 2.0, MidpointRounding.ToEven);
            (left, top, windowW, windowH) = (cropLeft * fx, cropTop * fy, outW * fx, outH * fy);
        }

        // The last column and row: every tap is clamped to them.
        int lastX = width - 1, lastY = height - 1;
        var xIndex = ArrayPool<int>.Shared.Rent(outW * 2);
        var xWeight = ArrayPool<float>.Shared.Rent(outW);
        try
        {
            double stepX = windowW / outW, stepY = windowH / outH;
            for (var x = 0; x < outW; x++)
            {
                var sx = Math.Clamp(left + ((x + 0.5) * stepX) - 0.5, 0, lastX);
                var x0 = (int)sx;
                xIndex[2 * x] = x0 * bytesPerPixel;
                xIndex[(2 * x) + 1] = Math.Min(x0 + 1, lastX) * bytesPerPixel;
                xWeight[x] = (float)(sx - x0);
            }

            // value = pixel * a[c] + b[c] per output channel; source channel of output c depends on the order.
            var bgr = profile.ChannelOrder == ChannelOrder.Bgr;
            var a0 = profile.Scale / profile.Std[0];
            var a1 = profile.Scale / profile.Std[1];
            var a2 = profile.Scale / profile.Std[2];
            var b0 = -profile.Mean[0] / profile.Std[0];
            var b1 = -profile.Mean[1] / profile.Std[1];
            var b2 = -profile.Mean[2] / profile.Std[2];
            int srcC0 = bgr ? 2 : 0, srcC2 = bgr ? 0 : 2;
            // The same coefficients for the vector path, in source (RGB) channel order.
            var coefficients = bgr
                ? (Mul: Vector128.Create(a2, a1, a0, 0f), Add: Vector128.Create(b2, b1, b0, 0f))
                : (Mul: Vector128.Create(a0, a1, a2, 0f), Add: Vector128.Create(b0, b1, b2, 0f));
            var plane = outW * outH;
            var nchw = profile.Layout == TensorLayout.Nchw;
            var rowBytes = width * bytesPerPixel;
            if (pixels.Length < rowBytes * height || destination.Length < plane * 3)
            {
                throw new ArgumentException("pixel or destination buffer too small");
            }

            // Pointers: bounds were checked above (every index is clamped into the image); this loop is
            // most of the preprocessing time after a DCT-scaled decode.
            fixed (byte* src = pixels)
            fixed (float* dst = destination)
            fixed (int* xi = xIndex)
            fixed (float* xw = xWeight)
            {
                for (var y = 0; y < outH; y++)
                {
                    var sy = Math.Clamp(top + ((y + 0.5) * stepY) - 0.5, 0, lastY);
                    var y0 = (int)sy;
                    var wy = (float)(sy - y0);
                    var row0 = src + (y0 * rowBytes);
                    var row1 = src + (Math.Min(y0 + 1, lastY) * rowBytes);
                    var o = y * outW;
                    float* d0 = dst + (nchw ? o : o * 3), d1 = nchw ? d0 + plane : d0 + 1, d2 = nchw ? d0 + (2 * plane) : d0 + 2;
                    var step = nchw ? 1 : 3;
                    // Stryker disable once all : the vector and scalar paths compute the same values (the same float operations in the same order, no fused multiply-add, and a 3-byte pixel's fourth tap byte is multiplied by 0); the choice is speed only
                    if (bytesPerPixel == 4 && Vector128.IsHardwareAccelerated)
                    {
                        ResampleRowVector(row0, row1, xi, xw, wy, outW, bgr, coefficients, d0, d1, d2, step);
                        continue;
                    }

                    for (var x = 0; x < outW; x++)
                    {
                        var wx = xw[x];
                        byte* p00 = row0 + xi[2 * x], p01 = row0 + xi[(2 * x) + 1], p10 = row1 + xi[2 * x], p11 = row1 + xi[(2 * x) + 1];
                        var c0 = Lerp(p00[srcC0], p01[srcC0], p10[srcC0], p11[srcC0], wx, wy);
                        var c1 = Lerp(p00[1], p01[1], p10[1], p11[1], wx, wy);
                        var c2 = Lerp(p00[srcC2], p01[srcC2], p10[srcC2], p11[srcC2], wx, wy);
                        var at = x * step;
                        d0[at] = (c0 * a0) + b0;
                        d1[at] = (c1 * a1) + b1;
                        d2[at] = (c2 * a2) + b2;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(xIndex);
            ArrayPool<float>.Shared.Return(xWeight);
        }
    }

    /// <summary>Bilinear mix in lerp form, so equal taps give exactly that value (solid regions stay exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Lerp(float p00, float p01, float p10, float p11, float wx, float wy)
    {
        var top = p00 + ((p01 - p00) * wx);
        var bottom = p10 + ((p11 - p10) * wx);
        return top + ((bottom - top) * wy);
    }

    /// <summary>One output row from RGBX/RGBA taps, the four channels of a tap at once.</summary>
    private static unsafe void ResampleRowVector(byte* row0, byte* row1, int* xi, float* xw, float wy, int outW, bool bgr, (Vector128<float> Mul, Vector128<float> Add) k, float* d0, float* d1, float* d2, int step)
    {
        var vy = Vector128.Create(wy);
        for (var x = 0; x < outW; x++)
        {
            int i0 = xi[2 * x], i1 = xi[(2 * x) + 1];
            var vx = Vector128.Create(xw[x]);
            Vector128<float> p00 = Tap(row0 + i0), p01 = Tap(row0 + i1), p10 = Tap(row1 + i0), p11 = Tap(row1 + i1);
            var top = p00 + ((p01 - p00) * vx);
            var bottom = p10 + ((p11 - p10) * vx);
            var r = ((top + ((bottom - top) * vy)) * k.Mul) + k.Add;
            if (bgr)
            {
                r = Vector128.Shuffle(r, Vector128.Create(2, 1, 0, 3));
            }

            var at = x * step;
            d0[at] = r.GetElement(0);
            d1[at] = r.GetElement(1);
            d2[at] = r.GetElement(2);
        }
    }

    /// <summary>Four bytes (R, G, B, X) as four floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<float> Tap(byte* p)
        => Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte())).AsInt32());
}
