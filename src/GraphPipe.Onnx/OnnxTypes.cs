using Microsoft.ML.OnnxRuntime.Tensors;

namespace GraphPipe.Onnx;

internal static class OnnxTypes
{
    /// <summary>The GraphPipe type carrying an ONNX element type; ONNX bool travels as uint8 (same bytes).</summary>
    public static TensorType ToGraphPipe(TensorElementType type) => type switch
    {
        TensorElementType.UInt8 or TensorElementType.Bool => TensorType.UInt8,
        TensorElementType.Int8 => TensorType.Int8,
        TensorElementType.UInt16 => TensorType.UInt16,
        TensorElementType.Int16 => TensorType.Int16,
        TensorElementType.UInt32 => TensorType.UInt32,
        TensorElementType.Int32 => TensorType.Int32,
        TensorElementType.UInt64 => TensorType.UInt64,
        TensorElementType.Int64 => TensorType.Int64,
        TensorElementType.Float16 => TensorType.Float16,
        TensorElementType.Float => TensorType.Float32,
        TensorElementType.Double => TensorType.Float64,
        TensorElementType.String => TensorType.String,
        _ => TensorType.Null,
    };
}
