using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>A tensor's <c>data</c> in JSON: numbers (BOOL as true/false, BYTES as strings), flattened or nested, row-major.</summary>
internal static class JsonTensorData
{
    /// <summary>Reads the value after the <c>data</c> property <paramref name="reader"/> stands on into a tensor.</summary>
    public static Tensor? Read(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, string name, TensorType type, bool isBool, ReadOnlySpan<long> shape, int count, RentedBuffers rentals, out string? error)
    {
        error = null;
        reader.Read();
        if (type == TensorType.String)
        {
            var strings = new ReadOnlyMemory<byte>[count];
            var n = 0;
            if (!Walk(ref reader, name, count, ref n, out error, (ref Utf8JsonReader r, int i, out string? e) => ReadString(ref r, json, strings, i, name, out e)))
            {
                return null;
            }

            return Done(n, count, name, shape, out error) ? Tensor.FromStrings(strings, shape) : null;
        }

        var size = type.ElementSize();
        var buffer = rentals.Rent(count * size);
        var elements = 0;
        var ok = Walk(ref reader, name, count, ref elements, out error, (ref Utf8JsonReader r, int i, out string? e) => ReadNumber(ref r, type, isBool, buffer.AsSpan(i * size, size), name, i, out e));
        return ok && Done(elements, count, name, shape, out error) ? Tensor.FromBytes(type, shape, buffer.AsMemory(0, count * size)) : null;
    }

    private delegate bool ReadElement(ref Utf8JsonReader reader, int index, out string? error);

    /// <summary>Visits every scalar of a (possibly nested) array in order, stopping at <paramref name="count"/>.</summary>
    private static bool Walk(ref Utf8JsonReader reader, string name, int count, ref int n, out string? error, ReadElement read)
    {
        error = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            // A scalar tensor may be given bare.
            if (count != 1)
            {
                error = $"input '{Echo.Name(name)}': 'data' must be an array";
                return false;
            }

            n = 1;
            return read(ref reader, 0, out error);
        }

        var depth = 1;
        while (depth > 0 && reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndArray:
                    depth--;
                    break;
                default:
                    if (n == count)
                    {
                        error = $"input '{Echo.Name(name)}': 'data' has more than the {count} elements of its shape";
                        return false;
                    }

                    if (!read(ref reader, n, out error))
                    {
                        return false;
                    }

                    n++;
                    break;
            }
        }

        return true;
    }

    private static bool Done(int n, int count, string name, ReadOnlySpan<long> shape, out string? error)
    {
        error = n == count ? null : $"input '{Echo.Name(name)}': 'data' has {n} elements; shape {Echo.Shape(shape)} needs {count}";
        return error is null;
    }

    private static bool ReadString(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, ReadOnlyMemory<byte>[] strings, int index, string name, out string? error)
    {
        error = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            error = $"input '{Echo.Name(name)}': BYTES element {index} must be a string";
            return false;
        }

        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // The token starts at its opening quote: the value is a view of the request body.
            strings[index] = json.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            return true;
        }

        var copy = new byte[reader.ValueSpan.Length];
        strings[index] = copy.AsMemory(0, reader.CopyString(copy));
        return true;
    }

    private static bool ReadNumber(ref Utf8JsonReader reader, TensorType type, bool isBool, Span<byte> destination, string name, int index, out string? error)
    {
        error = null;
        if (isBool)
        {
            if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
            {
                destination[0] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
                return true;
            }

            error = $"input '{Echo.Name(name)}': BOOL element {index} must be true or false";
            return false;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            error = $"input '{Echo.Name(name)}': {OipDatatype.Name(type)} element {index} must be a number";
            return false;
        }

        var ok = type switch
        {
            TensorType.UInt8 => reader.TryGetByte(out var v) && Put(destination, v),
            TensorType.Int8 => reader.TryGetSByte(out var v) && Put(destination, v),
            TensorType.UInt16 => reader.TryGetUInt16(out var v) && Put(destination, v),
            TensorType.Int16 => reader.TryGetInt16(out var v) && Put(destination, v),
            TensorType.UInt32 => reader.TryGetUInt32(out var v) && Put(destination, v),
            TensorType.Int32 => reader.TryGetInt32(out var v) && Put(destination, v),
            TensorType.UInt64 => reader.TryGetUInt64(out var v) && Put(destination, v),
            TensorType.Int64 => reader.TryGetInt64(out var v) && Put(destination, v),
            TensorType.Float16 => reader.TryGetDouble(out var v) && Put(destination, (Half)v),
            TensorType.Float32 => reader.TryGetSingle(out var v) && Put(destination, v),
            TensorType.Float64 => reader.TryGetDouble(out var v) && Put(destination, v),
            _ => false,
        };
        if (!ok)
        {
            error = $"input '{Echo.Name(name)}': element {index} ({Echo.Name(JsonRequestReader.Utf8(reader.ValueSpan))}) is not a valid {OipDatatype.Name(type)}";
        }

        return ok;
    }

    private static bool Put<T>(Span<byte> destination, T value) where T : unmanaged
    {
        MemoryMarshal.Write(destination, in value);
        return true;
    }

    /// <summary>Writes a tensor's elements as a flat JSON array (row-major).</summary>
    public static void Write(Utf8JsonWriter writer, Tensor tensor)
    {
        writer.WriteStartArray();
        var data = tensor.Data.Span;
        switch (tensor.Type)
        {
            case TensorType.String:
                foreach (var s in tensor.Strings)
                {
                    writer.WriteStringValue(s.Span);
                }

                break;
            case TensorType.UInt8:
                foreach (var v in data) writer.WriteNumberValue(v);
                break;
            case TensorType.Int8:
                foreach (var v in MemoryMarshal.Cast<byte, sbyte>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.UInt16:
                foreach (var v in MemoryMarshal.Cast<byte, ushort>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.Int16:
                foreach (var v in MemoryMarshal.Cast<byte, short>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.UInt32:
                foreach (var v in MemoryMarshal.Cast<byte, uint>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.Int32:
                foreach (var v in MemoryMarshal.Cast<byte, int>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.UInt64:
                foreach (var v in MemoryMarshal.Cast<byte, ulong>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.Int64:
                foreach (var v in MemoryMarshal.Cast<byte, long>(data)) writer.WriteNumberValue(v);
                break;
            case TensorType.Float16:
                for (var i = 0; i + 1 < data.Length; i += 2) writer.WriteNumberValue((float)BinaryPrimitives.ReadHalfLittleEndian(data[i..]));
                break;
            case TensorType.Float32:
                foreach (var v in MemoryMarshal.Cast<byte, float>(data)) WriteFloat(writer, v);
                break;
            case TensorType.Float64:
                foreach (var v in MemoryMarshal.Cast<byte, double>(data)) WriteDouble(writer, v);
                break;
        }

        writer.WriteEndArray();
    }

    // JSON has no NaN or infinity; OIP servers write them as strings, as Triton does.
    private static void WriteFloat(Utf8JsonWriter writer, float v)
    {
        if (float.IsFinite(v)) writer.WriteNumberValue(v);
        else writer.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static void WriteDouble(Utf8JsonWriter writer, double v)
    {
        if (double.IsFinite(v)) writer.WriteNumberValue(v);
        else writer.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }
}
