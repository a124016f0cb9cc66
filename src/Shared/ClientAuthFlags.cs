using System.CommandLine;
using GraphPipe.Client;

namespace GraphPipe.Shared;

/// <summary>
/// How a command-line client reaches stages that serve HTTPS, require a client certificate or an API key:
/// <c>--ca</c>, <c>--client-cert</c>, <c>--client-key</c>, <c>--api-key-file</c> (each also from the
/// environment, <c>GP_CA</c>, ...; the key itself from <c>GP_API_KEY</c>). A linked source file, so graphpipe
/// (metadata, infer, bench, probe, a stage's --next) and classy bind them the same way.
/// </summary>
internal sealed class ClientAuthFlags
{
    public readonly Option<string?> Ca;
    public readonly Option<string?> ClientCertificate;
    public readonly Option<string?> ClientKey;
    public readonly Option<string?> ApiKeyFile;
    private readonly string _apiKeyEnv;

    /// <param name="prefix">"" for clients, "next-" for a stage's next hop.</param>
    /// <param name="envPrefix">"GP_", "GP_NEXT_", "GP_PROBE_".</param>
    /// <param name="target">How help names what is called ("the stage", "the stages").</param>
    public ClientAuthFlags(string prefix, string envPrefix, string target)
    {
        Ca = Flag($"--{prefix}ca", $"{envPrefix}CA", $"Trust only the CAs of this PEM file for {target}'s HTTPS certificate");
        ClientCertificate = Flag($"--{prefix}client-cert", $"{envPrefix}CLIENT_CERT", $"Client certificate for mutual TLS with {target}: PEM (with --{prefix}client-key) or .pfx/.p12");
        ClientKey = Flag($"--{prefix}client-key", $"{envPrefix}CLIENT_KEY", $"PEM private key of --{prefix}client-cert");
        _apiKeyEnv = $"{envPrefix}API_KEY";
        ApiKeyFile = Flag($"--{prefix}api-key-file", $"{envPrefix}API_KEY_FILE", $"Send Authorization: Bearer KEY to {target}, KEY the first line of this file ({_apiKeyEnv} gives it directly)");
    }

    /// <summary>The environment variable that gives the key itself.</summary>
    public string ApiKeyEnvironment => _apiKeyEnv;

    public void AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.Add(Ca);
        command.Add(ClientCertificate);
        command.Add(ClientKey);
        command.Add(ApiKeyFile);
    }

    /// <summary>The TLS settings given; an <see cref="ArgumentException"/> naming the flags when a key comes without its certificate.</summary>
    public ClientTlsOptions Tls(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.GetValue(ClientKey) is not null && parse.GetValue(ClientCertificate) is null)
        {
            throw new ArgumentException($"{ClientKey.Name} needs {ClientCertificate.Name}");
        }

        return new ClientTlsOptions
        {
            TrustedCaFile = parse.GetValue(Ca),
            ClientCertificateFile = parse.GetValue(ClientCertificate),
            ClientKeyFile = parse.GetValue(ClientKey),
        };
    }

    /// <summary>The key to send: the first line of <c>--api-key-file</c>, else the key environment variable, else null (files read now).</summary>
    public string? ApiKey(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        if (parse.GetValue(ApiKeyFile) is { Length: > 0 } file)
        {
            return ApiKeys.ReadFirst(file);
        }

        return Environment.GetEnvironmentVariable(_apiKeyEnv) is { Length: > 0 } direct ? ApiKeys.Check(direct.Trim()) : null;
    }

    private static Option<string?> Flag(string name, string env, string description) => new(name)
    {
        Description = $"{description} [env: {env}]",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) is { Length: > 0 } value ? value : null,
    };
}
