using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace GraphPipe.Client;

/// <summary>
/// TLS settings of an outgoing connection: a CA file to trust instead of the system's roots (the server's
/// chain is still validated, and its name checked) and a client certificate for mutual TLS. Validation is
/// never turned off.
/// </summary>
public sealed class ClientTlsOptions
{
    /// <summary>PEM file of the CA certificates the server's chain must end in; null: the system's trusted roots.</summary>
    public string? TrustedCaFile { get; init; }

    /// <summary>Client certificate for mutual TLS: PEM (with <see cref="ClientKeyFile"/>) or .pfx/.p12; null: none.</summary>
    public string? ClientCertificateFile { get; init; }

    /// <summary>PEM private key of <see cref="ClientCertificateFile"/>; null when the certificate file holds it.</summary>
    public string? ClientKeyFile { get; init; }

    /// <summary>True when nothing is set (the handler's defaults apply).</summary>
    public bool IsEmpty => TrustedCaFile is null && ClientCertificateFile is null;

    /// <summary>
    /// Applies these settings to <paramref name="handler"/>'s <see cref="SocketsHttpHandler.SslOptions"/>, loading the
    /// files now (so a missing or broken file fails at start, not on the first request). Returns the handler.
    /// </summary>
    public SocketsHttpHandler Apply(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (ClientKeyFile is not null && ClientCertificateFile is null)
        {
            throw new ArgumentException("a client key file needs its client certificate file", nameof(handler));
        }

        var ssl = handler.SslOptions;
        if (TrustedCaFile is not null)
        {
            // Chain built against this CA only; the host name is still checked by SslStream.
            ssl.CertificateChainPolicy = TlsFiles.TrustOnly(TlsFiles.LoadCaBundle(TrustedCaFile));
        }

        if (ClientCertificateFile is not null)
        {
            var certificate = TlsFiles.LoadCertificate(ClientCertificateFile, ClientKeyFile);
            ssl.ClientCertificates = new X509CertificateCollection { certificate };
            // Offer this certificate whatever CA names the server lists (servers often list none).
            ssl.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }

        return handler;
    }
}
