using System.CommandLine;
using GraphPipe.Client;
using GraphPipe.Shared;

namespace GraphPipe.Cli;

/// <summary>
/// How an outgoing hop authenticates: a CA file to trust, a client certificate (mutual TLS) and an API key.
/// The flags are <see cref="ClientAuthFlags"/> (shared with classy); this adds graphpipe's error reporting
/// (a bad file or flag is one line naming the flag). The same set serves the client commands (<c>--ca</c>,
/// <c>--client-cert</c>, ...) and <c>--next</c> (<c>--next-ca</c>, ...).
/// </summary>
internal sealed class OutboundSettings
{
    private readonly ClientAuthFlags _flags;

    /// <param name="prefix">"" for the client commands, "next-" for a stage's next hop.</param>
    /// <param name="envPrefix">"GP_" or "GP_NEXT_".</param>
    public OutboundSettings(string prefix, string envPrefix, string target) => _flags = new ClientAuthFlags(prefix, envPrefix, target);

    public Option<string?> Ca => _flags.Ca;

    public Option<string?> ClientCertificate => _flags.ClientCertificate;

    public Option<string?> ClientKey => _flags.ClientKey;

    public Option<string?> ApiKeyFile => _flags.ApiKeyFile;

    public void AddTo(Command command) => _flags.AddTo(command);

    public ClientTlsOptions Tls(ParseResult parse)
    {
        try
        {
            return _flags.Tls(parse);
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage(ex.Message);
        }
    }

    public string? ApiKey(ParseResult parse)
        => SecuritySettings.Load(parse.GetValue(ApiKeyFile) is { Length: > 0 } ? ApiKeyFile.Name : _flags.ApiKeyEnvironment, () => _flags.ApiKey(parse));

    /// <summary>A handler with these TLS settings (files loaded now).</summary>
    public SocketsHttpHandler CreateHandler(ParseResult parse, SocketsHttpHandler handler)
    {
        var tls = Tls(parse);
        return SecuritySettings.Load($"{Ca.Name}/{ClientCertificate.Name}", () => tls.Apply(handler));
    }
}
