using System.Security.Cryptography.X509Certificates;

namespace GraphPipe.Client;

/// <summary>Loads certificates from the files operators keep them in: PEM (certificate + key files) or PKCS#12 (.pfx/.p12).</summary>
public static class TlsFiles
{
    /// <summary>
    /// A certificate with its private key: <paramref name="certificateFile"/> in PEM with <paramref name="keyFile"/>
    /// (PEM, unencrypted; null when the key is in the certificate file), or a .pfx/.p12 file (no password).
    /// </summary>
    public static X509Certificate2 LoadCertificate(string certificateFile, string? keyFile = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(certificateFile);
        RequireFile(certificateFile, "certificate");
        var extension = Path.GetExtension(certificateFile);
        if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(certificateFile, password: null);
        }

        if (keyFile is not null)
        {
            RequireFile(keyFile, "key");
        }

        var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidDataException($"certificate file '{certificateFile}' has no private key (give the key file)");
        }

        return certificate;
    }

    /// <summary>The CA certificates of a PEM bundle (one or more <c>BEGIN CERTIFICATE</c> blocks).</summary>
    public static X509Certificate2Collection LoadCaBundle(string caFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(caFile);
        RequireFile(caFile, "CA");
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(caFile);
        return bundle.Count > 0 ? bundle : throw new InvalidDataException($"CA file '{caFile}' holds no PEM certificate");
    }

    /// <summary>
    /// Builds <paramref name="certificate"/>'s chain against <paramref name="trustedCas"/> only (not the system's
    /// roots), requiring the extended key usage <paramref name="usageOid"/> when given. Revocation is not checked.
    /// </summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection trustedCas, string? usageOid = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(trustedCas);
        using var chain = new X509Chain();
        chain.ChainPolicy = TrustOnly(trustedCas);
        if (usageOid is not null)
        {
            chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usageOid));
        }

        return chain.Build(certificate);
    }

    /// <summary>A chain policy that trusts <paramref name="trustedCas"/> and nothing else.</summary>
    public static X509ChainPolicy TrustOnly(X509Certificate2Collection trustedCas)
    {
        ArgumentNullException.ThrowIfNull(trustedCas);
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(trustedCas);
        return policy;
    }

    /// <summary>The OID of the TLS client authentication extended key usage.</summary>
    public const string ClientAuthenticationOid = "1.3.6.1.5.5.7.3.2";

    private static void RequireFile(string path, string what)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{what} file '{path}' does not exist", path);
        }
    }
}
