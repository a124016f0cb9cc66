using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using GraphPipe.Client;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace GraphPipe.Server;

/// <summary>
/// HTTPS for a serving host's listener: the server certificate (PEM with its key file, or .pfx/.p12) and,
/// for mutual TLS, the CA file client certificates must chain to. Endpoints configured under
/// <c>Kestrel:Endpoints</c> take the client-CA part through <see cref="RequireClientCertificates"/>.
/// </summary>
public sealed class ServerTlsOptions
{
    /// <summary>The server certificate: PEM (with <see cref="KeyFile"/>) or .pfx/.p12 (no password).</summary>
    public required string CertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="CertificateFile"/>; null when the certificate file holds it.</summary>
    public string? KeyFile { get; init; }

    /// <summary>PEM file of the CAs client certificates must chain to; set, a client without such a certificate cannot connect (mutual TLS).</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>Loads the files now (a missing or broken file fails at start) into Kestrel's HTTPS options.</summary>
    public HttpsConnectionAdapterOptions CreateHttpsOptions()
    {
        var https = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = TlsFiles.LoadCertificate(CertificateFile, KeyFile),
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
        if (ClientCaFile is not null)
        {
            RequireClientCertificates(https, TlsFiles.LoadCaBundle(ClientCaFile));
        }

        return https;
    }

    /// <summary>
    /// Mutual TLS: the handshake fails unless the client presents a certificate that chains to one of
    /// <paramref name="trustedCas"/> (only these; the system's roots are not trusted for clients) and may
    /// be used for client authentication.
    /// </summary>
    public static void RequireClientCertificates(HttpsConnectionAdapterOptions https, X509Certificate2Collection trustedCas)
    {
        ArgumentNullException.ThrowIfNull(https);
        ArgumentNullException.ThrowIfNull(trustedCas);
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.CheckCertificateRevocation = false;
        // The chain SslStream built used the system's roots; it is rebuilt here against the given CAs only.
        https.ClientCertificateValidation = (certificate, _, _) => TlsFiles.ChainsTo(certificate, trustedCas, TlsFiles.ClientAuthenticationOid);
    }
}
