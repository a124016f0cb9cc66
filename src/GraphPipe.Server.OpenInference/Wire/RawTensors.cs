using System.Buffers.Binary;

namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>
/// Tensors as raw bytes, the layout shared by Triton's binary tensor data extension (REST) and
/// <c>raw_input_contents</c> / <c>raw_output_contents</c> (gRPC): row-major little-endian elements;
/// BYTES as a 4-byte little-endian length before each element; BOOL one byte each.
/// </summary>
internal static class RawTensors
{
    /// <summary>Elements of a shape, or an error naming the input when a dimension is negative or the product overflows.</summary>
    public static long ElementCount(string name, ReadOnlySpan<long> shape, out string? error)
    {
        error = null;
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0 || (d != 0 && count > long.MaxValue / d))
            {
                error = $"input '{Echo.Name(name)}': shape {Echo.Shape(shape)} has a negative dimension or too many elements";
                return -1;
            }

            count *= d;
        }

        return count;
    }

    /// <summary>A tensor viewing <paramref name="raw"/> (no copy), or null and an error naming the input when the bytes do not fit the shape.</summary>
    public static Tensor? Read(string name, TensorType type, bool isBool, ReadOnlySpan<long> shape, ReadOnlyMemory<byte> raw, out string? error)
    {
        var count = ElementCount(name, shape, out error);
        if (count < 0)
        {
            return null;
        }

        if (type == TensorType.String)
        {
            return ReadStrings(name, shape, count, raw, out error);
        }

        var expected = count * type.ElementSize();
        if (raw.Length != expected)
        {
            error = $"input '{Echo.Name(name)}': {raw.Length} bytes of data; shape {Echo.Shape(shape)} of {(isBool ? OipDatatype.Bool : OipDatatype.Name(type))} needs {expected}";
            return null;
        }

        if (isBool && raw.Span.IndexOfAnyExcept((byte)0, (byte)1) is var bad and >= 0)
        {
            error = $"input '{Echo.Name(name)}': BOOL element {bad} is {raw.Span[bad]}, not 0 or 1";
            return null;
        }

        return Tensor.FromBytes(type, shape, raw);
    }

    private static Tensor? ReadStrings(string name, ReadOnlySpan<long> shape, long count, ReadOnlyMemory<byte> raw, out string? error)
    {
        error = null;
        // Each element takes at least its 4-byte length, which bounds the list by the bytes received.
        if (count > raw.Length / 4)
        {
            error = $"input '{Echo.Name(name)}': {raw.Length} bytes cannot hold the {count} BYTES elements of shape {Echo.Shape(shape)} (4-byte length each)";
            return null;
        }

        var elements = new ReadOnlyMemory<byte>[count];
        var offset = 0;
        var span = raw.Span;
        for (var i = 0; i < elements.Length; i++)
        {
            if (span.Length - offset < 4)
            {
                error = $"input '{Echo.Name(name)}': BYTES element {i} has no 4-byte length ({span.Length - offset} bytes left)";
                return null;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            offset += 4;
            if (length > (uint)(span.Length - offset))
            {
                error = $"input '{Echo.Name(name)}': BYTES element {i} says {length} bytes, {span.Length - offset} are left";
                return null;
            }

            elements[i] = raw.Slice(offset, (int)length);
            offset += (int)length;
        }

        if (offset != span.Length)
        {
            error = $"input '{Echo.Name(name)}': {span.Length - offset} bytes left over after the {count} BYTES elements of shape {Echo.Shape(shape)}";
            return null;
        }

        return Tensor.FromStrings(elements, shape);
    }

    /// <summary>Bytes a tensor takes in raw form.</summary>
    public static long RawLength(Tensor tensor)
    {
        if (!tensor.IsString)
        {
            return tensor.Data.Length;
        }

        long length = 0;
        foreach (var element in tensor.Strings)
        {
            length += 4 + element.Length;
        }

        return length;
    }

    /// <summary>Writes a string tensor length-prefixed into <paramref name="destination"/> (at least <see cref="RawLength"/> bytes).</summary>
    public static void WriteStrings(Tensor tensor, Span<byte> destination)
    {
        var offset = 0;
        foreach (var element in tensor.Strings)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[offset..], (uint)element.Length);
            offset += 4;
            element.Span.CopyTo(destination[offset..]);
            offset += element.Length;
        }
    }
}
