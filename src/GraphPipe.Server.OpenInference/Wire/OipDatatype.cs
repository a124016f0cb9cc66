namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>
/// The Open Inference Protocol's datatype names and GraphPipe's element types. BYTES is a string tensor;
/// BOOL has no GraphPipe type and travels as uint8 (0 or 1), so a stage's outputs come back as UINT8.
/// </summary>
internal static class OipDatatype
{
    public const string Bool = "BOOL";
    public const string Bytes = "BYTES";

    /// <summary>The element type for a datatype name; <paramref name="isBool"/> when it was BOOL (carried as uint8).</summary>
    public static bool TryParse(string? name, out TensorType type, out bool isBool)
    {
        isBool = false;
        type = name switch
        {
            "UINT8" => TensorType.UInt8,
            "INT8" => TensorType.Int8,
            "UINT16" => TensorType.UInt16,
            "INT16" => TensorType.Int16,
            "UINT32" => TensorType.UInt32,
            "INT32" => TensorType.Int32,
            "UINT64" => TensorType.UInt64,
            "INT64" => TensorType.Int64,
            "FP16" => TensorType.Float16,
            "FP32" => TensorType.Float32,
            "FP64" => TensorType.Float64,
            Bytes => TensorType.String,
            Bool => TensorType.UInt8,
            _ => TensorType.Null,
        };
        isBool = name == Bool;
        return type != TensorType.Null;
    }

    /// <summary>The datatype name of an element type (<c>Null</c>, "any type" in metadata, has none: empty).</summary>
    public static string Name(TensorType type) => type switch
    {
        TensorType.UInt8 => "UINT8",
        TensorType.Int8 => "INT8",
        TensorType.UInt16 => "UINT16",
        TensorType.Int16 => "INT16",
        TensorType.UInt32 => "UINT32",
        TensorType.Int32 => "INT32",
        TensorType.UInt64 => "UINT64",
        TensorType.Int64 => "INT64",
        TensorType.Float16 => "FP16",
        TensorType.Float32 => "FP32",
        TensorType.Float64 => "FP64",
        TensorType.String => Bytes,
        _ => string.Empty,
    };

    public const string Supported = "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES";
}
