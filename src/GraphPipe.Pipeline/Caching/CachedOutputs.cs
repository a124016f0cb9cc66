using System.Buffers.Binary;
using System.Collections.Immutable;

namespace GraphPipe.Caching;

/// <summary>
/// A stage's outputs as one detached byte array (what the cache stores), and back. Reading points the tensors
/// into the array without copying; the array belongs to the one request that read it.
/// </summary>
/// <remarks>Layout: <c>"GPC1"</c>, count; per tensor: type, rank, dimensions, then the data (length-prefixed) or the strings (count, each length-prefixed). Little-endian.</remarks>
internal static class CachedOutputs
{
    private static ReadOnlySpan<byte> Magic => "GPC1"u8;

    public static byte[] Write(IReadOnlyList<Tensor> outputs)
    {
        long size = Magic.Length + 4;
        foreach (var tensor in outputs)
        {
            size += 1 + 4 + (8L * tensor.Shape.Length) + 4;
            if (tensor.IsString)
            {
                foreach (var s in tensor.Strings) size += 4 + s.Length;
            }
            else
            {
                size += tensor.Data.Length;
            }
        }

        var bytes = new byte[checked((int)size)];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        var at = Magic.Length;
        WriteInt32(span, ref at, outputs.Count);
        foreach (var tensor in outputs)
        {
            span[at++] = (byte)tensor.Type;
            WriteInt32(span, ref at, tensor.Shape.Length);
            foreach (var dim in tensor.Shape)
            {
                BinaryPrimitives.WriteInt64LittleEndian(span[at..], dim);
                at += 8;
            }

            if (tensor.IsString)
            {
                WriteInt32(span, ref at, tensor.Strings.Count);
                foreach (var s in tensor.Strings)
                {
                    WriteInt32(span, ref at, s.Length);
                    s.Span.CopyTo(span[at..]);
                    at += s.Length;
                }
            }
            else
            {
                WriteInt32(span, ref at, tensor.Data.Length);
                tensor.Data.Span.CopyTo(span[at..]);
                at += tensor.Data.Length;
            }
        }

        return bytes;
    }

    /// <summary>The tensors in <paramref name="bytes"/>, or false when they are not a well-formed entry (then the caller treats it as a miss).</summary>
    public static bool TryRead(byte[] bytes, out Tensor[] outputs)
    {
        outputs = [];
        var span = bytes.AsSpan();
        if (!span.StartsWith(Magic))
        {
            return false;
        }

        var at = Magic.Length;
        if (!TryReadInt32(span, ref at, out var count) || count < 0 || count > 4096)
        {
            return false;
        }

        var result = new Tensor[count];
        for (var t = 0; t < count; t++)
        {
            if (at >= span.Length) return false;
            var type = (TensorType)span[at++];
            if (!type.IsDefined() || type == TensorType.Null) return false;
            if (!TryReadInt32(span, ref at, out var rank) || rank < 0 || rank > 64 || span.Length - at < rank * 8) return false;
            var shape = new long[rank];
            for (var d = 0; d < rank; d++)
            {
                shape[d] = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
                at += 8;
            }

            var elements = Tensor.ElementCountOf(shape);
            if (elements < 0) return false;
            if (type == TensorType.String)
            {
                if (!TryReadInt32(span, ref at, out var n) || n != elements) return false;
                var strings = new ReadOnlyMemory<byte>[n];
                for (var i = 0; i < n; i++)
                {
                    if (!TryReadInt32(span, ref at, out var length) || length < 0 || span.Length - at < length) return false;
                    strings[i] = bytes.AsMemory(at, length);
                    at += length;
                }

                result[t] = Tensor.CreateUnchecked(type, ImmutableArray.Create(shape), ReadOnlyMemory<byte>.Empty, strings);
            }
            else
            {
                if (!TryReadInt32(span, ref at, out var length) || length < 0 || span.Length - at < length || length != elements * type.ElementSize()) return false;
                result[t] = Tensor.CreateUnchecked(type, ImmutableArray.Create(shape), bytes.AsMemory(at, length), null);
                at += length;
            }
        }

        outputs = result;
        return at == span.Length;
    }

    private static void WriteInt32(Span<byte> span, ref int at, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], value);
        at += 4;
    }

    private static bool TryReadInt32(ReadOnlySpan<byte> span, ref int at, out int value)
    {
        if (span.Length - at < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        return true;
    }
}
