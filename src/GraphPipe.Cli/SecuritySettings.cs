using System.CommandLine;
using System.Security.Cryptography;
using GraphPipe.Client;
using GraphPipe.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace GraphPipe.Cli;

/// <summary>
/// A serve command's HTTPS, mutual TLS and API key: <c>--tls-cert/--tls-key</c>, <c>--client-ca</c>,
/// <c>--api-key-file</c> (or GP_API_KEY), and endpoints from the standard <c>Kestrel:Endpoints</c> configuration.
/// </summary>
internal sealed class SecuritySettings
{
    public readonly Option<string?> Certificate = CliOptions.EnvString("--tls-cert", "GP_TLS_CERT", "Serve HTTPS with this certificate: PEM (with --tls-key) or .pfx/.p12", null);
    public readonly Option<string?> Key = CliOptions.EnvString("--tls-key", "GP_TLS_KEY", "PEM private key of --tls-cert", null);
    public readonly Option<string?> ClientCa = CliOptions.EnvString("--client-ca", "GP_CLIENT_CA", "Mutual TLS: require client certificates issued by the CAs of this PEM file", null);
    public readonly Option<string?> ApiKeyFile = CliOptions.EnvString("--api-key-file", "GP_API_KEY_FILE", "Require Authorization: Bearer KEY with a key of this file (one per line; health endpoints stay open). GP_API_KEY gives one key directly", null);
    public readonly Option<bool> MetricsWithoutKey = CliOptions.Env("--metrics-without-key", "GP_METRICS_WITHOUT_KEY", "With an API key: serve /metrics without it (default: metrics need the key)", false);

    public void AddTo(Command command)
    {
        command.Add(Certificate);
        command.Add(Key);
        command.Add(ClientCa);
        command.Add(ApiKeyFile);
        command.Add(MetricsWithoutKey);
    }

    /// <summary>
    /// Sets the listener: <c>Kestrel:Endpoints</c> from configuration (appsettings.json, <c>Kestrel__Endpoints__...</c>
    /// environment variables) when present, else <c>--listen</c>, over HTTPS with <c>--tls-cert</c>.
    /// </summary>
    /// <returns>The HTTPS settings of <c>--tls-cert</c> (for the gRPC listener too), or null.</returns>
    public ServerTlsOptions? ConfigureListener(WebApplicationBuilder builder, ParseResult parse, Option<string> listen, Option<string?>? grpcListen = null)
    {
        var certificate = parse.GetValue(Certificate);
        var key = parse.GetValue(Key);
        var clientCa = parse.GetValue(ClientCa);
        if (key is not null && certificate is null)
        {
            throw CliException.Usage("--tls-key needs --tls-cert");
        }

        builder.WebHost.UseKestrelHttpsConfiguration();
        if (builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            if (certificate is not null || parse.GetResult(listen) is { Implicit: false })
            {
                throw CliException.Usage("Kestrel:Endpoints is configured: it replaces --listen and --tls-cert (give the certificate in the endpoint's configuration)");
            }

            if (grpcListen is not null && parse.GetValue(grpcListen) is not null)
            {
                // --grpc-listen would open a port outside that configuration, without its certificate.
                throw CliException.Usage("Kestrel:Endpoints is configured: it replaces --grpc-listen too (gRPC is served on its HTTPS endpoints, which speak HTTP/2)");
            }

            if (clientCa is not null)
            {
                var cas = Load("--client-ca", () => TlsFiles.LoadCaBundle(clientCa));
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => ServerTlsOptions.RequireClientCertificates(https, cas)));
            }

            return null;
        }

        if (clientCa is not null && certificate is null)
        {
            throw CliException.Usage("--client-ca (mutual TLS) needs --tls-cert");
        }

        var tls = certificate is null ? null : new ServerTlsOptions { CertificateFile = certificate, KeyFile = key, ClientCaFile = clientCa };
        try
        {
            builder.WebHost.UseGraphPipeListen(parse.GetValue(listen)!, tls);
            return tls;
        }
        catch (FormatException ex)
        {
            throw CliException.Usage($"--listen: {ex.Message}");
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"--tls-cert/--tls-key/--client-ca: {ex.Message}");
        }
    }

    /// <summary>Adds the API key check when <c>--api-key-file</c> or GP_API_KEY gives keys.</summary>
    public void AddApiKey(GraphPipeServingBuilder serving, ParseResult parse)
    {
        var keys = new List<string>();
        if (parse.GetValue(ApiKeyFile) is { Length: > 0 } file)
        {
            keys.AddRange(Load("--api-key-file", () => ApiKeys.ReadFile(file)));
        }

        if (Environment.GetEnvironmentVariable("GP_API_KEY") is { Length: > 0 } direct)
        {
            keys.Add(Load("GP_API_KEY", () => ApiKeys.Check(direct.Trim())));
        }

        if (keys.Count == 0)
        {
            if (parse.GetValue(MetricsWithoutKey))
            {
                throw CliException.Usage("--metrics-without-key needs --api-key-file (or GP_API_KEY)");
            }

            return;
        }

        var openMetrics = parse.GetValue(MetricsWithoutKey);
        serving.AddApiKey(o =>
        {
            foreach (var k in keys) o.Keys.Add(k);
            o.AllowAnonymousMetrics = openMetrics;
        });
    }

    internal static T Load<T>(string flag, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"{flag}: {ex.Message}");
        }
    }
}
