namespace GraphPipe.Stages;

/// <summary>Checks a tensor against the metadata of the input it is meant for.</summary>
public static class TensorChecks
{
    /// <summary>Null when <paramref name="tensor"/> fits <paramref name="expected"/>; otherwise a message naming the input and both types/shapes.</summary>
    public static string? Mismatch(IOMetadata expected, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(tensor);
        if (expected.Type != TensorType.Null && expected.Type != tensor.Type)
        {
            return $"input '{expected.Name}': expected type {expected.Type.ToWireName()}, received {tensor.Type.ToWireName()}";
        }

        var shape = expected.Shape;
        if (shape.IsDefaultOrEmpty && tensor.Shape.Length == 0)
        {
            return null;
        }

        if (!shape.IsDefault && shape.Length != tensor.Shape.Length)
        {
            return $"input '{expected.Name}': expected shape {Tensor.FormatShape(shape.AsSpan())} (rank {shape.Length}), received {Echo.Shape(tensor.Shape.AsSpan())} (rank {tensor.Shape.Length})";
        }

        for (var i = 0; i < shape.Length; i++)
        {
            if (shape[i] >= 0 && shape[i] != tensor.Shape[i])
            {
                return $"input '{expected.Name}': expected shape {Tensor.FormatShape(shape.AsSpan())}, received {Echo.Shape(tensor.Shape.AsSpan())} (dimension {i} must be {shape[i]})";
            }
        }

        return null;
    }
}
