using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace GraphPipe.Cli;

/// <summary>Reads and writes NumPy <c>.npy</c> files (format versions 1-3, little-endian, C order).</summary>
internal static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static Tensor Read(string path) => Read(File.ReadAllBytes(path), path);

    public static Tensor Read(byte[] file, string name)
    {
        if (file.Length < 10 || !file.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{name}: not a .npy file (missing \\x93NUMPY magic)");
        }

        int major = file[6];
        int headerLength, headerStart;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(8));
            headerStart = 10;
        }
        else if (major is 2 or 3)
        {
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8)));
            headerStart = 12;
        }
        else
        {
            throw new InvalidDataException($"{name}: unsupported .npy version {major}");
        }

        if (headerStart + headerLength > file.Length)
        {
            throw new InvalidDataException($"{name}: truncated .npy header");
        }

        var header = Encoding.Latin1.GetString(file, headerStart, headerLength);
        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shapeMatch = ShapeRegex().Match(header);
        if (!descr.Success || !shapeMatch.Success)
        {
            throw new InvalidDataException($"{name}: unreadable .npy header {header.Trim()}");
        }

        if (fortran.Success && fortran.Groups[1].Value == "True")
        {
            throw new InvalidDataException($"{name}: Fortran-order arrays are not supported; save with np.ascontiguousarray");
        }

        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var data = file.AsMemory(headerStart + headerLength);
        var d = descr.Groups[1].Value;
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (d.Length >= 3 && d[1] is 'S' or 'U' || (d.Length >= 2 && d[1] is 'S' or 'U'))
        {
            return ReadStrings(d, shape, count, data, name);
        }

        var type = d switch
        {
            "|u1" or "<u1" or "|b1" => TensorType.UInt8,
            "|i1" or "<i1" => TensorType.Int8,
            "<u2" => TensorType.UInt16,
            "<i2" => TensorType.Int16,
            "<u4" => TensorType.UInt32,
            "<i4" => TensorType.Int32,
            "<u8" => TensorType.UInt64,
            "<i8" => TensorType.Int64,
            "<f2" => TensorType.Float16,
            "<f4" => TensorType.Float32,
            "<f8" => TensorType.Float64,
            _ => throw new InvalidDataException($"{name}: dtype '{d}' is not supported (little-endian numeric, bytes |S or unicode <U)"),
        };
        var bytes = count * type.ElementSize();
        if (data.Length < bytes)
        {
            throw new InvalidDataException($"{name}: {data.Length} data bytes, shape ({string.Join(",", shape)}) of {d} needs {bytes}");
        }

        return Tensor.FromBytes(type, shape, data[..(int)bytes]);
    }

    private static Tensor ReadStrings(string descr, long[] shape, long count, ReadOnlyMemory<byte> data, string name)
    {
        var unicode = descr[1] == 'U';
        var width = int.Parse(descr.AsSpan(2), CultureInfo.InvariantCulture);
        var itemBytes = unicode ? width * 4 : width;
        if (data.Length < count * itemBytes)
        {
            throw new InvalidDataException($"{name}: truncated string array");
        }

        var values = new ReadOnlyMemory<byte>[count];
        for (var i = 0; i < count; i++)
        {
            var item = data.Slice((int)(i * itemBytes), itemBytes);
            if (unicode)
            {
                var text = Encoding.UTF32.GetString(item.Span).TrimEnd('\0');
                values[i] = Encoding.UTF8.GetBytes(text);
            }
            else
            {
                var span = item.Span;
                var end = span.Length;
                while (end > 0 && span[end - 1] == 0) end--;
                values[i] = item[..end];
            }
        }

        return Tensor.FromStrings(values, shape);
    }

    public static void Write(string path, Tensor tensor)
    {
        using var stream = File.Create(path);
        Write(stream, tensor);
    }

    public static void Write(Stream stream, Tensor tensor)
    {
        string descr;
        var itemWidth = 0;
        if (tensor.IsString)
        {
            itemWidth = Math.Max(1, tensor.Strings.Count == 0 ? 1 : tensor.Strings.Max(s => s.Length));
            descr = $"|S{itemWidth}";
        }
        else
        {
            descr = tensor.Type switch
            {
                TensorType.UInt8 => "|u1",
                TensorType.Int8 => "|i1",
                TensorType.UInt16 => "<u2",
                TensorType.Int16 => "<i2",
                TensorType.UInt32 => "<u4",
                TensorType.Int32 => "<i4",
                TensorType.UInt64 => "<u8",
                TensorType.Int64 => "<i8",
                TensorType.Float16 => "<f2",
                TensorType.Float32 => "<f4",
                TensorType.Float64 => "<f8",
                _ => throw new InvalidDataException($"cannot write {tensor.Type} as .npy"),
            };
        }

        var shape = tensor.Shape.Length switch
        {
            0 => "()",
            1 => $"({tensor.Shape[0]},)",
            _ => $"({string.Join(", ", tensor.Shape)})",
        };
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        // Pad so that the data starts on a 64-byte boundary, as NumPy does.
        var total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
        if (tensor.IsString)
        {
            var pad = new byte[itemWidth];
            foreach (var s in tensor.Strings)
            {
                stream.Write(s.Span);
                stream.Write(pad, 0, itemWidth - s.Length);
            }
        }
        else
        {
            stream.Write(tensor.Data.Span);
        }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
