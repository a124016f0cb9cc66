using System.Collections.Immutable;

namespace GraphPipe;

/// <summary>Describes one input or output of a model or stage. A dimension of -1 means "any size".</summary>
public sealed record IOMetadata(string Name, TensorType Type, ImmutableArray<long> Shape, string Description = "")
{
    public override string ToString() => $"{Name}: {Type.ToWireName()}{Tensor.FormatShape(Shape.AsSpan())}";
}

/// <summary>What a stage takes and gives (protocol-neutral; the GraphPipe wire carries it as a <c>StageMetadata</c>).</summary>
public sealed class StageMetadata
{
    public string Name { get; init; } = string.Empty;
    public string Version { get; init; } = string.Empty;
    public string Server { get; init; } = string.Empty;
    public string Description { get; init; } = string.Empty;
    public IReadOnlyList<IOMetadata> Inputs { get; init; } = [];
    public IReadOnlyList<IOMetadata> Outputs { get; init; } = [];
}

/// <summary>Lookups over a stage's declared inputs and outputs.</summary>
public static class StageMetadataExtensions
{
    /// <summary>The input or output named <paramref name="name"/>, or null.</summary>
    public static IOMetadata? Find(this IReadOnlyList<IOMetadata> items, string name)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            if (string.Equals(item.Name, name, StringComparison.Ordinal))
            {
                return item;
            }
        }

        return null;
    }
}
