using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;

namespace GraphPipe;

/// <summary>
/// A GraphPipe tensor: an element type, a shape (row-major, dimension 0 is the batch) and either raw
/// little-endian element bytes or, for <see cref="TensorType.String"/>, one byte string per element.
/// </summary>
/// <remarks>
/// A tensor is a view: tensors read from a message point into that message's buffer (zero-copy) and are
/// valid only while the buffer is. Use <see cref="Clone"/> to detach one.
/// </remarks>
public sealed class Tensor
{
    private static readonly ReadOnlyMemory<byte>[] NoStrings = [];

    private Tensor(TensorType type, ImmutableArray<long> shape, ReadOnlyMemory<byte> data, IReadOnlyList<ReadOnlyMemory<byte>> strings)
    {
        Type = type;
        Shape = shape;
        Data = data;
        Strings = strings;
    }

    public TensorType Type { get; }

    /// <summary>Dimensions; empty for a scalar (one element).</summary>
    public ImmutableArray<long> Shape { get; }

    /// <summary>Raw little-endian row-major element bytes (empty for string tensors). Not necessarily aligned.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>The elements of a string tensor, row-major, as arbitrary bytes (empty for numeric tensors).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Strings { get; }

    /// <summary>Number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount => ElementCountOf(Shape.AsSpan());

    public bool IsString => Type == TensorType.String;

    /// <summary>Wraps existing little-endian bytes without copying. Validates that the length matches the shape.</summary>
    public static Tensor FromBytes(TensorType type, ReadOnlySpan<long> shape, ReadOnlyMemory<byte> data)
    {
        if (type == TensorType.String || type.ElementSize() == 0)
        {
            throw new ArgumentException($"Type {type.ToWireName()} has no fixed element size; use {nameof(FromStrings)}.", nameof(type));
        }

        var count = CheckedElementCount(shape);
        var expected = checked(count * type.ElementSize());
        if (data.Length != expected)
        {
            throw new ArgumentException($"Data has {data.Length} bytes; shape {FormatShape(shape)} of {type.ToWireName()} needs {expected}.", nameof(data));
        }

        return new Tensor(type, [.. shape], data, NoStrings);
    }

    /// <summary>Creates a numeric tensor by copying <paramref name="values"/>.</summary>
    public static Tensor Create<T>(ReadOnlySpan<T> values, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        var type = TensorTypeExtensions.FromClrType<T>();
        var bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("GraphPipe.NET supports little-endian machines only.");
        }

        return FromBytes(type, shape, bytes);
    }

    /// <summary>Creates a one-dimensional numeric tensor by copying <paramref name="values"/>.</summary>
    public static Tensor Create<T>(T[] values) where T : unmanaged => Create<T>(values.AsSpan(), values.Length);

    /// <summary>Creates a scalar (shape <c>[]</c>).</summary>
    public static Tensor Scalar<T>(T value) where T : unmanaged => Create<T>([value], ReadOnlySpan<long>.Empty);

    /// <summary>Creates a string tensor from byte strings (not copied).</summary>
    public static Tensor FromStrings(IReadOnlyList<ReadOnlyMemory<byte>> values, ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        var count = CheckedElementCount(shape);
        if (values.Count != count)
        {
            throw new ArgumentException($"{values.Count} strings given; shape {FormatShape(shape)} needs {count}.", nameof(values));
        }

        return new Tensor(TensorType.String, [.. shape], ReadOnlyMemory<byte>.Empty, values);
    }

    /// <summary>Creates a one-dimensional string tensor from byte strings (not copied).</summary>
    public static Tensor FromStrings(IReadOnlyList<ReadOnlyMemory<byte>> values) => FromStrings(values, [values.Count]);

    /// <summary>Creates a one-dimensional string tensor of UTF-8 encoded text.</summary>
    public static Tensor FromStrings(params IReadOnlyList<string> values)
    {
        var encoded = new ReadOnlyMemory<byte>[values.Count];
        for (var i = 0; i < encoded.Length; i++)
        {
            encoded[i] = Encoding.UTF8.GetBytes(values[i]);
        }

        return FromStrings(encoded, [encoded.Length]);
    }

    /// <summary>
    /// The elements as <typeparamref name="T"/> without copying. Reads are unaligned-tolerant on the
    /// platforms .NET supports (x64, Arm64), so this is safe on wire buffers.
    /// </summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        EnsureType<T>();
        return MemoryMarshal.Cast<byte, T>(Data.Span);
    }

    /// <summary>Copies the elements into a new array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        EnsureType<T>();
        var result = new T[ElementCount];
        Data.Span.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }

    /// <summary>The string elements decoded as UTF-8 (invalid sequences replaced).</summary>
    public string[] ToStringArray()
    {
        if (!IsString)
        {
            throw new InvalidOperationException($"Tensor is {Type.ToWireName()}, not string.");
        }

        var result = new string[Strings.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Encoding.UTF8.GetString(Strings[i].Span);
        }

        return result;
    }

    /// <summary>A deep copy that no longer references the source buffer.</summary>
    public Tensor Clone()
    {
        if (IsString)
        {
            var copies = new ReadOnlyMemory<byte>[Strings.Count];
            for (var i = 0; i < copies.Length; i++)
            {
                copies[i] = Strings[i].ToArray();
            }

            return new Tensor(Type, Shape, ReadOnlyMemory<byte>.Empty, copies);
        }

        return new Tensor(Type, Shape, Data.ToArray(), NoStrings);
    }

    public override string ToString() => $"{Type.ToWireName()}{FormatShape(Shape.AsSpan())}";

    /// <summary>Formats a shape the way error messages show it: <c>[1,3,224,224]</c>.</summary>
    public static string FormatShape(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(shape[i]);
        }

        return sb.Append(']').ToString();
    }

    /// <summary>Product of the dimensions (1 for a scalar), or -1 when a dimension is negative or the product overflows.</summary>
    internal static long ElementCountOf(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) return -1;
            if (d != 0 && count > long.MaxValue / d) return -1;
            count *= d;
        }

        return count;
    }

    private static long CheckedElementCount(ReadOnlySpan<long> shape)
    {
        var count = ElementCountOf(shape);
        if (count < 0)
        {
            throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension or too many elements.", nameof(shape));
        }

        return count;
    }

    internal static Tensor CreateUnchecked(TensorType type, ImmutableArray<long> shape, ReadOnlyMemory<byte> data, IReadOnlyList<ReadOnlyMemory<byte>>? strings)
        => new(type, shape, data, strings ?? NoStrings);

    private void EnsureType<T>() where T : unmanaged
    {
        var requested = TensorTypeExtensions.FromClrType<T>();
        if (requested != Type)
        {
            throw new InvalidOperationException($"Tensor is {Type.ToWireName()}, not {requested.ToWireName()}.");
        }
    }
}
