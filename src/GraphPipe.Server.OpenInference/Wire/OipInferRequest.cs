namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>An inference request as either door decodes it: GraphPipe's request (names, tensors, outputs, route in <c>Config</c>) plus what OIP adds.</summary>
internal sealed class OipInferRequest
{
    public required InferRequest Request { get; init; }

    /// <summary>The request's <c>id</c>, echoed in the response.</summary>
    public string? Id { get; init; }

    /// <summary>Per requested output (same order as <see cref="InferRequest.OutputNames"/>): whether it goes back as binary data (REST).</summary>
    public IReadOnlyList<bool> BinaryOutputs { get; init; } = [];

    /// <summary>Outputs not listed in the request go back as binary data (REST <c>binary_data_output</c>).</summary>
    public bool BinaryByDefault { get; init; }
}
