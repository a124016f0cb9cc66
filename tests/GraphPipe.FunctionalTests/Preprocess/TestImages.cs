using System.Buffers.Binary;
using GraphPipe.Imaging;
using SkiaSharp;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>An RGB colour as 0..255 bytes.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    public byte this[int channel] => channel switch { 0 => R, 1 => G, _ => B };
}

/// <summary>Test images built in memory, an independent reference preprocessor, and the committed photos.</summary>
internal static class TestImages
{
    public static readonly Rgb Red = new(200, 30, 60);
    public static readonly Rgb Green = new(20, 180, 90);
    public static readonly Rgb Blue = new(40, 70, 220);
    public static readonly Rgb Grey = new(128, 128, 128);
    public static readonly Rgb Yellow = new(250, 240, 10);

    /// <summary>The photo directory copied to the test output.</summary>
    public static string Photo(string name) => Path.Combine(AppContext.BaseDirectory, "images", "photos", name);

    public static byte[] ReadPhoto(string name) => File.ReadAllBytes(Photo(name));

    /// <summary>
    /// An image of four solid quadrants (top-left red, top-right green, bottom-left blue, bottom-right grey)
    /// split at (<paramref name="splitX"/>, <paramref name="splitY"/>), optionally inside a yellow frame.
    /// </summary>
    public static SKBitmap Quadrants(int width, int height, int? splitX = null, int? splitY = null, SKRectI? inner = null)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var sx = splitX ?? width / 2;
        var sy = splitY ?? height / 2;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var c = QuadrantAt(x, y, sx, sy);
                if (inner is { } r && !r.Contains(x, y))
                {
                    c = Yellow;
                }

                bitmap.SetPixel(x, y, new SKColor(c.R, c.G, c.B));
            }
        }

        return bitmap;
    }

    public static Rgb QuadrantAt(int x, int y, int splitX, int splitY)
        => (x < splitX, y < splitY) switch
        {
            (true, true) => Red,
            (false, true) => Green,
            (true, false) => Blue,
            _ => Grey,
        };

    public static byte[] Png(SKBitmap bitmap)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static byte[] Jpeg(SKBitmap bitmap, int quality = 95)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    public static byte[] WebPLossless(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100));
        return data!.ToArray();
    }

    /// <summary>A 24-bit bottom-up BMP, written by hand (SkiaSharp does not encode BMP).</summary>
    public static byte[] Bmp(SKBitmap bitmap)
    {
        int w = bitmap.Width, h = bitmap.Height, stride = ((w * 3) + 3) & ~3;
        var bytes = new byte[54 + (stride * h)];
        "BM"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(34), stride * h);
        for (var y = 0; y < h; y++)
        {
            var row = 54 + ((h - 1 - y) * stride);
            for (var x = 0; x < w; x++)
            {
                var c = bitmap.GetPixel(x, y);
                bytes[row + (x * 3)] = c.Blue;
                bytes[row + (x * 3) + 1] = c.Green;
                bytes[row + (x * 3) + 2] = c.Red;
            }
        }

        return bytes;
    }

    /// <summary>
    /// An animated GIF89a, written by hand: <paramref name="width"/>x<paramref name="height"/>, frame 0 all
    /// <paramref name="first"/>, frame 1 all <paramref name="second"/>.
    /// </summary>
    public static byte[] TwoFrameGif(int width, int height, Rgb first, Rgb second)
    {
        var gif = new List<byte>();
        gif.AddRange("GIF89a"u8.ToArray());
        gif.AddRange(Le16(width));
        gif.AddRange(Le16(height));
        gif.Add(0xF1); // global colour table, 8-bit colour resolution, 4 entries
        gif.Add(0);
        gif.Add(0);
        foreach (var c in new[] { first, second, new Rgb(0, 0, 0), new Rgb(255, 255, 255) })
        {
            gif.Add(c.R);
            gif.Add(c.G);
            gif.Add(c.B);
        }

        // NETSCAPE2.0 loop extension: marks the file as an animation.
        gif.AddRange([0x21, 0xFF, 0x0B, .. "NETSCAPE2.0"u8.ToArray(), 0x03, 0x01, 0x00, 0x00, 0x00]);
        foreach (var index in new byte[] { 0, 1 })
        {
            gif.AddRange([0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]);
            gif.Add(0x2C);
            gif.AddRange(Le16(0));
            gif.AddRange(Le16(0));
            gif.AddRange(Le16(width));
            gif.AddRange(Le16(height));
            gif.Add(0);
            gif.Add(2); // LZW minimum code size
            var data = LzwSolid(index, width * height);
            for (var offset = 0; offset < data.Length; offset += 255)
            {
                var n = Math.Min(255, data.Length - offset);
                gif.Add((byte)n);
                gif.AddRange(data.AsSpan(offset, n).ToArray());
            }

            gif.Add(0);
        }

        gif.Add(0x3B);
        return [.. gif];
    }

    /// <summary>LZW data for <paramref name="count"/> pixels of one index: a clear code before every pixel keeps codes 3 bits wide.</summary>
    private static byte[] LzwSolid(byte index, int count)
    {
        const int Clear = 4, End = 5;
        var bits = new List<bool>();
        void Emit(int code)
        {
            for (var b = 0; b < 3; b++) bits.Add(((code >> b) & 1) != 0);
        }

        for (var i = 0; i < count; i++)
        {
            Emit(Clear);
            Emit(index);
        }

        Emit(End);
        var bytes = new byte[(bits.Count + 7) / 8];
        for (var i = 0; i < bits.Count; i++)
        {
            if (bits[i]) bytes[i / 8] |= (byte)(1 << (i % 8));
        }

        return bytes;
    }

    private static byte[] Le16(int value) => [(byte)value, (byte)(value >> 8)];

    /// <summary>A PNG signature and IHDR claiming <paramref name="width"/>x<paramref name="height"/>, and nothing else.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var bytes = new byte[33];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 13);
        "IHDR"u8.CopyTo(bytes.AsSpan(12));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), height);
        bytes[24] = 8; // bit depth
        bytes[25] = 2; // RGB
        return bytes;
    }

    /// <summary>Pixels as decoded by SkiaSharp at full size (RGBA, unpremultiplied).</summary>
    public static SKBitmap DecodeFull(byte[] encoded)
    {
        using var codec = SKCodec.Create(new MemoryStream(encoded)) ?? throw new InvalidOperationException("not decodable");
        var bitmap = new SKBitmap(new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        return result == SKCodecResult.Success ? bitmap : throw new InvalidOperationException(result.ToString());
    }

    public static float[] Run(byte[] encoded, PreprocessProfile profile)
    {
        var output = new float[profile.ElementsPerImage];
        ImagePreprocessor.Preprocess(encoded, profile, output);
        return output;
    }

    /// <summary>Index of output channel <paramref name="c"/> at (<paramref name="x"/>, <paramref name="y"/>) in one image of the profile's layout.</summary>
    public static int Index(PreprocessProfile p, int x, int y, int c)
        => p.Layout == TensorLayout.Nhwc ? (((y * p.Width) + x) * 3) + c : (c * p.Width * p.Height) + (y * p.Width) + x;

    /// <summary>The expected value of output channel <paramref name="c"/> for source colour <paramref name="pixel"/>.</summary>
    public static double Expected(PreprocessProfile p, Rgb pixel, int c)
    {
        var source = p.ChannelOrder == ChannelOrder.Bgr ? 2 - c : c;
        return ((pixel[source] * (double)p.Scale) - p.Mean[c]) / p.Std[c];
    }

    /// <summary>
    /// A straightforward reference: stretch-resize <paramref name="source"/> with bilinear sampling at
    /// half-pixel centres (double precision, per pixel) and normalise; for comparisons with tolerance.
    /// </summary>
    public static float[] Reference(SKBitmap source, PreprocessProfile p)
    {
        var result = new float[p.ElementsPerImage];
        double fx = (double)source.Width / p.Width, fy = (double)source.Height / p.Height;
        for (var y = 0; y < p.Height; y++)
        {
            var sy = Math.Clamp(((y + 0.5) * fy) - 0.5, 0, source.Height - 1);
            int y0 = (int)Math.Floor(sy), y1 = Math.Min(y0 + 1, source.Height - 1);
            for (var x = 0; x < p.Width; x++)
            {
                var sx = Math.Clamp(((x + 0.5) * fx) - 0.5, 0, source.Width - 1);
                int x0 = (int)Math.Floor(sx), x1 = Math.Min(x0 + 1, source.Width - 1);
                SKColor a = source.GetPixel(x0, y0), b = source.GetPixel(x1, y0), c = source.GetPixel(x0, y1), d = source.GetPixel(x1, y1);
                double wx = sx - x0, wy = sy - y0;
                double Mix(byte pa, byte pb, byte pc, byte pd) => ((pa * (1 - wx)) + (pb * wx)) * (1 - wy) + (((pc * (1 - wx)) + (pd * wx)) * wy);
                var rgb = new[] { Mix(a.Red, b.Red, c.Red, d.Red), Mix(a.Green, b.Green, c.Green, d.Green), Mix(a.Blue, b.Blue, c.Blue, d.Blue) };
                for (var ch = 0; ch < 3; ch++)
                {
                    var value = rgb[p.ChannelOrder == ChannelOrder.Bgr ? 2 - ch : ch];
                    result[Index(p, x, y, ch)] = (float)(((value * p.Scale) - p.Mean[ch]) / p.Std[ch]);
                }
            }
        }

        return result;
    }

    public static double MeanAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return sum / a.Length;
    }
}
