using System.CommandLine;
using GraphPipe.Client;

namespace GraphPipe.Cli;

/// <summary>
/// How an outgoing hop authenticates: a CA file to trust, a client certificate (mutual TLS) and an API key.
/// The same set serves the client commands (<c>--ca</c>, <c>--client-cert</c>, ...) and <c>--next</c> (<c>--next-ca</c>, ...).
/// </summary>
internal sealed class OutboundSettings
{
    public readonly Option<string?> Ca;
    public readonly Option<string?> ClientCertificate;
    public readonly Option<string?> ClientKey;
    public readonly Option<string?> ApiKeyFile;
    private readonly string _apiKeyEnv;

    /// <param name="prefix">"" for the client commands, "next-" for a stage's next hop.</param>
    /// <param name="envPrefix">"GP_" or "GP_NEXT_".</param>
    public OutboundSettings(string prefix, string envPrefix, string target)
    {
        Ca = CliOptions.EnvString($"--{prefix}ca", $"{envPrefix}CA", $"Trust only the CAs of this PEM file for {target}'s HTTPS certificate", null);
        ClientCertificate = CliOptions.EnvString($"--{prefix}client-cert", $"{envPrefix}CLIENT_CERT", $"Client certificate for mutual TLS with {target}: PEM (with --{prefix}client-key) or .pfx/.p12", null);
        ClientKey = CliOptions.EnvString($"--{prefix}client-key", $"{envPrefix}CLIENT_KEY", $"PEM private key of --{prefix}client-cert", null);
        _apiKeyEnv = $"{envPrefix}API_KEY";
        ApiKeyFile = CliOptions.EnvString($"--{prefix}api-key-file", $"{envPrefix}API_KEY_FILE", $"Send Authorization: Bearer KEY to {target}, KEY the first line of this file ({_apiKeyEnv} gives it directly)", null);
    }

    public void AddTo(Command command)
    {
        command.Add(Ca);
        command.Add(ClientCertificate);
        command.Add(ClientKey);
        command.Add(ApiKeyFile);
    }

    public ClientTlsOptions Tls(ParseResult parse)
    {
        if (parse.GetValue(ClientKey) is not null && parse.GetValue(ClientCertificate) is null)
        {
            throw CliException.Usage($"{ClientKey.Name} needs {ClientCertificate.Name}");
        }

        return new ClientTlsOptions
        {
            TrustedCaFile = parse.GetValue(Ca),
            ClientCertificateFile = parse.GetValue(ClientCertificate),
            ClientKeyFile = parse.GetValue(ClientKey),
        };
    }

    public string? ApiKey(ParseResult parse)
    {
        if (parse.GetValue(ApiKeyFile) is { Length: > 0 } file)
        {
            return SecuritySettings.Load(ApiKeyFile.Name, () => ApiKeys.ReadFirst(file));
        }

        return Environment.GetEnvironmentVariable(_apiKeyEnv) is { Length: > 0 } direct
            ? SecuritySettings.Load(_apiKeyEnv, () => ApiKeys.Check(direct.Trim()))
            : null;
    }

    /// <summary>A handler with these TLS settings (files loaded now).</summary>
    public SocketsHttpHandler CreateHandler(ParseResult parse, SocketsHttpHandler handler)
    {
        var tls = Tls(parse);
        return SecuritySettings.Load($"{Ca.Name}/{ClientCertificate.Name}", () => tls.Apply(handler));
    }
}
