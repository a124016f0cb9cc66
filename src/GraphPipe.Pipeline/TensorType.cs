namespace GraphPipe;

/// <summary>GraphPipe element types. The numeric values are the wire ids of the protocol's <c>Type</c> enum.</summary>
public enum TensorType : byte
{
    Null = 0,
    UInt8 = 1,
    Int8 = 2,
    UInt16 = 3,
    Int16 = 4,
    UInt32 = 5,
    Int32 = 6,
    UInt64 = 7,
    Int64 = 8,
    Float16 = 9,
    Float32 = 10,
    Float64 = 11,
    String = 12,
}

public static class TensorTypeExtensions
{
    /// <summary>Size in bytes of one element; 0 for <see cref="TensorType.String"/> and <see cref="TensorType.Null"/>.</summary>
    public static int ElementSize(this TensorType type) => type switch
    {
        TensorType.UInt8 or TensorType.Int8 => 1,
        TensorType.UInt16 or TensorType.Int16 or TensorType.Float16 => 2,
        TensorType.UInt32 or TensorType.Int32 or TensorType.Float32 => 4,
        TensorType.UInt64 or TensorType.Int64 or TensorType.Float64 => 8,
        _ => 0,
    };

    public static bool IsDefined(this TensorType type) => (byte)type <= (byte)TensorType.String;

    /// <summary>Lower-case name as the reference implementations print it (e.g. <c>float32</c>).</summary>
    public static string ToWireName(this TensorType type) => type switch
    {
        TensorType.Null => "null",
        TensorType.UInt8 => "uint8",
        TensorType.Int8 => "int8",
        TensorType.UInt16 => "uint16",
        TensorType.Int16 => "int16",
        TensorType.UInt32 => "uint32",
        TensorType.Int32 => "int32",
        TensorType.UInt64 => "uint64",
        TensorType.Int64 => "int64",
        TensorType.Float16 => "float16",
        TensorType.Float32 => "float32",
        TensorType.Float64 => "float64",
        TensorType.String => "string",
        _ => $"unknown({(byte)type})",
    };

    /// <summary>The element type for a CLR primitive, or throws for unsupported types.</summary>
    public static TensorType FromClrType<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(byte)) return TensorType.UInt8;
        if (typeof(T) == typeof(sbyte)) return TensorType.Int8;
        if (typeof(T) == typeof(ushort)) return TensorType.UInt16;
        if (typeof(T) == typeof(short)) return TensorType.Int16;
        if (typeof(T) == typeof(uint)) return TensorType.UInt32;
        if (typeof(T) == typeof(int)) return TensorType.Int32;
        if (typeof(T) == typeof(ulong)) return TensorType.UInt64;
        if (typeof(T) == typeof(long)) return TensorType.Int64;
        if (typeof(T) == typeof(Half)) return TensorType.Float16;
        if (typeof(T) == typeof(float)) return TensorType.Float32;
        if (typeof(T) == typeof(double)) return TensorType.Float64;
        throw new NotSupportedException($"{typeof(T).Name} is not a GraphPipe element type.");
    }
}
