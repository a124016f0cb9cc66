using System.Text;

namespace GraphPipe.FunctionalTests;

/// <summary>
/// Machine-specific variants of the test models. ONNX Runtime's StringNormalizer builds a C++ locale named by
/// its <c>locale</c> attribute and, when the attribute is absent, falls back to <c>en_US.UTF-8</c> on Linux,
/// which minimal images (containers, CI) do not have: strings.onnx then fails to load. On Linux the tests
/// serve a copy whose StringNormalizer names <c>C.UTF-8</c>, which every current glibc has built in.
/// </summary>
internal static class TestModelVariants
{
    private static readonly Lazy<string> StringsPath = new(CreateStringsModel);

    /// <summary>Path of strings.onnx, or of its C.UTF-8 copy on Linux.</summary>
    public static string Strings => StringsPath.Value;

    private static string CreateStringsModel()
    {
        var original = TestModels.Path("strings.onnx");
        if (!OperatingSystem.IsLinux())
        {
            return original;
        }

        var patched = PatchStringNormalizerLocale(File.ReadAllBytes(original), "C.UTF-8");
        var dir = Path.Combine(AppContext.BaseDirectory, "models", "generated");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "strings.c-utf8.onnx");
        var temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, patched);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    // ONNX protobuf field numbers: ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4,
    // NodeProto.attribute = 5, AttributeProto.name = 1, .s = 4, .type = 20 (STRING = 3).
    internal static byte[] PatchStringNormalizerLocale(byte[] model, string locale)
        => Rewrite(model, 7, graph => Rewrite(graph, 1, node => AddLocale(node, locale)));

    private static byte[] AddLocale(byte[] node, string locale)
    {
        string? opType = null;
        var hasLocale = false;
        foreach (var f in Fields(node))
        {
            if (f.Number == 4 && f.WireType == 2) opType = Encoding.UTF8.GetString(node, f.PayloadStart, f.PayloadLength);
            if (f.Number == 5 && f.WireType == 2 && AttributeName(node.AsSpan(f.PayloadStart, f.PayloadLength)) == "locale") hasLocale = true;
        }

        if (opType != "StringNormalizer" || hasLocale)
        {
            return node;
        }

        using var attribute = new MemoryStream();
        WriteBytesField(attribute, 1, Encoding.UTF8.GetBytes("locale"));
        WriteBytesField(attribute, 4, Encoding.UTF8.GetBytes(locale));
        WriteVarint(attribute, (20 << 3) | 0);
        WriteVarint(attribute, 3);
        using var result = new MemoryStream();
        result.Write(node);
        WriteBytesField(result, 5, attribute.ToArray());
        return result.ToArray();
    }

    private static string? AttributeName(ReadOnlySpan<byte> attribute)
    {
        var bytes = attribute.ToArray();
        foreach (var f in Fields(bytes))
        {
            if (f.Number == 1 && f.WireType == 2) return Encoding.UTF8.GetString(bytes, f.PayloadStart, f.PayloadLength);
        }

        return null;
    }

    /// <summary>Copies a message, passing each length-delimited field <paramref name="number"/> through <paramref name="map"/>.</summary>
    private static byte[] Rewrite(byte[] message, int number, Func<byte[], byte[]> map)
    {
        using var result = new MemoryStream();
        foreach (var f in Fields(message))
        {
            if (f.Number == number && f.WireType == 2)
            {
                WriteBytesField(result, number, map(message.AsSpan(f.PayloadStart, f.PayloadLength).ToArray()));
            }
            else
            {
                result.Write(message, f.Start, f.End - f.Start);
            }
        }

        return result.ToArray();
    }

    private readonly record struct Field(int Number, int WireType, int Start, int PayloadStart, int PayloadLength, int End);

    private static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var pos = 0;
        while (pos < message.Length)
        {
            var start = pos;
            var tag = ReadVarint(message, ref pos);
            var wireType = (int)(tag & 7);
            var payloadStart = pos;
            int length;
            switch (wireType)
            {
                case 0: ReadVarint(message, ref pos); length = pos - payloadStart; break;
                case 1: length = 8; pos += 8; break;
                case 2: length = checked((int)ReadVarint(message, ref pos)); payloadStart = pos; pos += length; break;
                case 5: length = 4; pos += 4; break;
                default: throw new InvalidDataException($"unsupported protobuf wire type {wireType} at {start}");
            }

            if (pos > message.Length) throw new InvalidDataException($"protobuf field at {start} runs past the end");
            fields.Add(new Field((int)(tag >> 3), wireType, start, payloadStart, length, pos));
        }

        return fields;
    }

    private static ulong ReadVarint(byte[] buffer, ref int pos)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = buffer[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }

        throw new InvalidDataException("protobuf varint is too long");
    }

    private static void WriteBytesField(Stream stream, int number, byte[] payload)
    {
        WriteVarint(stream, ((ulong)number << 3) | 2);
        WriteVarint(stream, (ulong)payload.Length);
        stream.Write(payload);
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }
}
