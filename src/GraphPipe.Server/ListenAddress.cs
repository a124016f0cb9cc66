using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GraphPipe.Server;

public static class ListenAddress
{
    /// <summary>Listens on <c>HOST:PORT</c> (e.g. <c>127.0.0.1:9000</c>, <c>0.0.0.0:9000</c>, <c>[::1]:9000</c>, <c>localhost:0</c>).</summary>
    public static IWebHostBuilder UseGraphPipeListen(this IWebHostBuilder builder, string listen)
        => builder.UseGraphPipeListen(listen, tls: null);

    /// <summary>
    /// Listens on <c>HOST:PORT</c>, over HTTPS when <paramref name="tls"/> is given (and with mutual TLS when it
    /// names a client CA). The certificate files are loaded here, so a bad file fails before the host starts.
    /// </summary>
    public static IWebHostBuilder UseGraphPipeListen(this IWebHostBuilder builder, string listen, ServerTlsOptions? tls)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var endpoint = Parse(listen);
        var https = tls?.CreateHttpsOptions();
        return builder.ConfigureKestrel(kestrel =>
        {
            Action<ListenOptions> configure = https is null ? static _ => { } : options => options.UseHttps(https);
            if (endpoint.Host is null)
            {
                kestrel.ListenLocalhost(endpoint.Port, configure);
            }
            else
            {
                kestrel.Listen(endpoint.Host, endpoint.Port, configure);
            }
        });
    }

    /// <summary>Like <see cref="UseGraphPipeListen(IWebHostBuilder, string)"/>, for a bare Kestrel app (no serving host), with its body size limit.</summary>
    public static IWebHostBuilder UseGraphPipeListen(this IWebHostBuilder builder, string listen, long maxRequestBytes)
        => builder.UseGraphPipeListen(listen).ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxRequestBytes);

    /// <summary>Parses <c>HOST:PORT</c>; host <c>localhost</c> gives a null address (both loopbacks).</summary>
    public static (IPAddress? Host, int Port) Parse(string listen)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(listen);
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            throw new FormatException($"listen address '{listen}' is not HOST:PORT (e.g. 127.0.0.1:9000)");
        }

        var host = listen[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return (null, port);
        }

        if (host is "*" or "+")
        {
            return (IPAddress.Any, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? (address, port)
            : throw new FormatException($"listen host '{host}' is not an IP address or localhost");
    }
}
