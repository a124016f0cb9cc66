using System.Buffers.Binary;
using System.IO.Compression;

namespace GraphPipe.Models;

/// <summary>One IDX image set (Fashion-MNIST / MNIST): <see cref="Count"/> grayscale images of <see cref="Rows"/> x <see cref="Columns"/> bytes.</summary>
public sealed class IdxImages
{
    internal IdxImages(int count, int rows, int columns, byte[] pixels)
    {
        Count = count;
        Rows = rows;
        Columns = columns;
        Pixels = pixels;
    }

    public int Count { get; }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>All images, row-major, one byte (0 = black .. 255 = white) per pixel.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        var size = Rows * Columns;
        return Pixels.Span.Slice(index * size, size);
    }
}

/// <summary>
/// Fashion-MNIST: the IDX file reader and the image-to-model-input conversion shared by the trainer,
/// the evaluation and the tests (one place, so training and serving see identical tensors).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The ten class names in class-index order.</summary>
    public static IReadOnlyList<string> Labels { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Path of <c>{train|t10k}-{images-idx3|labels-idx1}-ubyte.gz</c> in <paramref name="directory"/>.</summary>
    public static string FilePath(string directory, bool train, bool images)
        => Path.Combine(directory, $"{(train ? "train" : "t10k")}-{(images ? "images-idx3" : "labels-idx1")}-ubyte.gz");

    /// <summary>Reads an IDX3 image file (gzip-compressed when the name ends in .gz).</summary>
    public static IdxImages ReadImages(string path)
    {
        var data = ReadAll(path);
        if (data.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(data) != 0x00000803)
        {
            throw new InvalidDataException($"'{path}' is not an IDX3 unsigned-byte image file");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        var rows = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(8));
        var columns = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(12));
        if (count < 0 || rows <= 0 || columns <= 0 || data.Length - 16L != (long)count * rows * columns)
        {
            throw new InvalidDataException($"'{path}': header says {count} x {rows} x {columns} but the file holds {data.Length - 16} pixel bytes");
        }

        return new IdxImages(count, rows, columns, data[16..]);
    }

    /// <summary>Reads an IDX1 label file (gzip-compressed when the name ends in .gz).</summary>
    public static byte[] ReadLabels(string path)
    {
        var data = ReadAll(path);
        if (data.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(data) != 0x00000801)
        {
            throw new InvalidDataException($"'{path}' is not an IDX1 unsigned-byte label file");
        }

        var count = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
        if (count < 0 || data.Length - 8 != count)
        {
            throw new InvalidDataException($"'{path}': header says {count} labels but the file holds {data.Length - 8}");
        }

        return data[8..];
    }

    /// <summary>
    /// Converts one grayscale image to the demo model's input layout: a bilinear "stretch" resize to
    /// <paramref name="size"/> x <paramref name="size"/> (half-pixel centres, edge pixels clamped, like
    /// OpenCV INTER_LINEAR / PIL BILINEAR upscaling / align_corners=false), copied into three equal
    /// R, G, B planes (CHW) with values 0..255.
    /// </summary>
    /// <param name="gray">The image, row-major, one byte per pixel.</param>
    /// <param name="width">Width of <paramref name="gray"/>.</param>
    /// <param name="height">Height of <paramref name="gray"/>.</param>
    /// <param name="destination">At least 3 * size * size floats.</param>
    /// <param name="size">Output side (224 for the demo model).</param>
    public static void ToModelInput(ReadOnlySpan<byte> gray, int width, int height, Span<float> destination, int size = DemoModel.ImageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (gray.Length < width * height) throw new ArgumentException($"{width}x{height} image needs {width * height} bytes, got {gray.Length}", nameof(gray));
        var plane = size * size;
        if (destination.Length < 3 * plane) throw new ArgumentException($"destination needs {3 * plane} floats, got {destination.Length}", nameof(destination));

        Span<int> x0 = stackalloc int[size];
        Span<int> x1 = stackalloc int[size];
        Span<float> fx = stackalloc float[size];
        Sample(width, size, x0, x1, fx);
        Span<int> y0 = stackalloc int[size];
        Span<int> y1 = stackalloc int[size];
        Span<float> fy = stackalloc float[size];
        Sample(height, size, y0, y1, fy);

        var red = destination[..plane];
        for (var y = 0; y < size; y++)
        {
            var top = gray.Slice(y0[y] * width, width);
            var bottom = gray.Slice(y1[y] * width, width);
            var wy = fy[y];
            var row = red.Slice(y * size, size);
            for (var x = 0; x < size; x++)
            {
                var a = top[x0[x]] + ((top[x1[x]] - top[x0[x]]) * fx[x]);
                var b = bottom[x0[x]] + ((bottom[x1[x]] - bottom[x0[x]]) * fx[x]);
                row[x] = a + ((b - a) * wy);
            }
        }

        red.CopyTo(destination.Slice(plane, plane));
        red.CopyTo(destination.Slice(2 * plane, plane));
    }

    /// <summary>Converts images <paramref name="start"/> .. start+count-1 into one [count,3,size,size] batch.</summary>
    public static float[] ToModelInput(IdxImages images, int start, int count, int size = DemoModel.ImageSize)
    {
        ArgumentNullException.ThrowIfNull(images);
        var per = 3 * size * size;
        var batch = new float[count * per];
        for (var i = 0; i < count; i++)
        {
            ToModelInput(images.Image(start + i), images.Columns, images.Rows, batch.AsSpan(i * per, per), size);
        }

        return batch;
    }

    /// <summary>File-name friendly label: "T-shirt/top" becomes "t-shirt-top", "Ankle boot" "ankle-boot".</summary>
    public static string Slug(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        var chars = label.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        return string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
    }

    private static void Sample(int source, int size, Span<int> i0, Span<int> i1, Span<float> frac)
    {
        var scale = (double)source / size;
        for (var i = 0; i < size; i++)
        {
            var s = ((i + 0.5) * scale) - 0.5;
            if (s < 0) s = 0;
            var lo = Math.Min((int)s, source - 1);
            i0[i] = lo;
            i1[i] = Math.Min(lo + 1, source - 1);
            frac[i] = (float)(s - lo);
        }
    }

    private static byte[] ReadAll(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' does not exist (Debian/Ubuntu: apt-get install dataset-fashion-mnist)", path);
        }

        using var file = File.OpenRead(path);
        using var input = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        using var buffer = new MemoryStream();
        input.CopyTo(buffer);
        return buffer.ToArray();
    }
}
