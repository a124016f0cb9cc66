using System.Collections.Immutable;

namespace GraphPipe;

/// <summary>Which message a request carries (the <c>Req</c> union of the schema).</summary>
public enum RequestKind : byte
{
    None = 0,
    Infer = 1,
    Metadata = 2,
}

/// <summary>An inference request: inputs paired with names, the requested outputs and an opaque config string.</summary>
public sealed class InferRequest
{
    public string Config { get; init; } = string.Empty;

    /// <summary>Names of the inputs, positionally paired with <see cref="Inputs"/>; missing or empty names mean "the default input at this position".</summary>
    public IReadOnlyList<string> InputNames { get; init; } = [];

    public IReadOnlyList<Tensor> Inputs { get; init; } = [];

    /// <summary>Requested outputs; empty means the server's defaults.</summary>
    public IReadOnlyList<string> OutputNames { get; init; } = [];
}

/// <summary>A parsed request: either an inference request or a metadata request.</summary>
public sealed class GraphPipeRequest
{
    public required RequestKind Kind { get; init; }

    /// <summary>The inference request when <see cref="Kind"/> is <see cref="RequestKind.Infer"/>.</summary>
    public InferRequest? Infer { get; init; }
}

/// <summary>An error entry of an <see cref="InferResponse"/>.</summary>
public sealed record GraphPipeError(long Code, string Message);

public sealed class InferResponse
{
    public IReadOnlyList<Tensor> Outputs { get; init; } = [];

    public IReadOnlyList<GraphPipeError> Errors { get; init; } = [];
}
