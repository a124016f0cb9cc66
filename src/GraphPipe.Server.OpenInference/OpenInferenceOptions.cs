using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Server.OpenInference;

/// <summary>The Open Inference Protocol door. Its limits (body size, timeout, admission) are the host's <see cref="GraphPipeServerOptions"/>.</summary>
public sealed class OpenInferenceOptions : IValidatableObject
{
    /// <summary>
    /// HTTPS (and with <see cref="ServerTlsOptions.ClientCaFile"/>, mutual TLS) on the gRPC listener: the
    /// same certificate files as the host's HTTP listener (<c>--tls-cert</c>, <c>--tls-key</c>, <c>--client-ca</c>).
    /// Null: HTTP/2 without TLS.
    /// </summary>
    public ServerTlsOptions? GrpcTls { get; set; }

    /// <summary>
    /// Where gRPC (<c>inference.GRPCInferenceService</c>, HTTP/2; over TLS with <see cref="GrpcTls"/>) listens, <c>HOST:PORT</c>
    /// (e.g. <c>127.0.0.1:8001</c>; port 0 picks a free one); null: no gRPC. REST is always on the host's own port.
    /// </summary>
    public string? GrpcListen { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (GrpcListen is null)
        {
            yield break;
        }

        string? problem = null;
        try
        {
            ListenAddress.Parse(GrpcListen);
        }
        catch (FormatException ex)
        {
            problem = ex.Message;
        }

        if (problem is not null)
        {
            yield return new ValidationResult($"GrpcListen: {problem}", [nameof(GrpcListen)]);
        }
    }
}
