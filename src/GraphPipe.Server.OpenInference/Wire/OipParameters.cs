namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>The request and tensor parameters this door reads; others are accepted and ignored, as the protocol allows.</summary>
internal static class OipParameters
{
    /// <summary>
    /// Request parameter (string): where the outputs go next (hybrid sequencing), in the syntax of
    /// GraphPipe's <c>config</c>: one next-stage URL, or several separated by spaces or commas.
    /// </summary>
    public const string Next = "graphpipe_next";

    /// <summary>Triton's binary tensor data extension: request parameter asking for every output in binary form.</summary>
    public const string BinaryDataOutput = "binary_data_output";

    /// <summary>Triton's binary tensor data extension: output parameter asking for this output in binary form.</summary>
    public const string BinaryData = "binary_data";

    /// <summary>Triton's binary tensor data extension: tensor parameter giving the size of its binary data.</summary>
    public const string BinaryDataSize = "binary_data_size";

    /// <summary>The HTTP header giving the length of the JSON part of a request or response that carries binary data.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
}
