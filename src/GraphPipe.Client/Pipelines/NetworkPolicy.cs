using System.Net;
using System.Net.Sockets;

namespace GraphPipe.Pipelines;

/// <summary>
/// Decides which hosts a stage may connect to on a client's behalf (image URLs, next-stage URLs).
/// By default only public addresses are allowed: loopback, private, link-local, CGNAT, multicast and
/// cloud metadata addresses are refused, so a request cannot make a stage probe its own network (SSRF).
/// </summary>
public sealed class NetworkPolicy
{
    /// <summary>Allows every address. For local setups and tests only.</summary>
    public static NetworkPolicy AllowAll { get; } = new() { AllowPrivateNetworks = true };

    /// <summary>Allow loopback/private/link-local targets (local development, tests, trusted clusters).</summary>
    public bool AllowPrivateNetworks { get; init; }

    /// <summary>Host names (or IP literals) always allowed, whatever they resolve to, e.g. in-cluster service names.</summary>
    public IReadOnlySet<string> AllowedHosts { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Null if <paramref name="uri"/> may be used; otherwise why not.</summary>
    public string? CheckUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "only absolute http and https URLs are allowed";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "URLs with credentials are not allowed";
        }

        if (IPAddress.TryParse(uri.IdnHost, out var literal))
        {
            return CheckAddress(uri.IdnHost, literal);
        }

        return null;
    }

    /// <summary>Null if connecting to <paramref name="address"/> (resolved from <paramref name="host"/>) is allowed; otherwise why not.</summary>
    public string? CheckAddress(string host, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (AllowPrivateNetworks || AllowedHosts.Contains(host) || AllowedHosts.Contains(address.ToString()))
        {
            return null;
        }

        var kind = Classify(address);
        return kind is null ? null : $"{Echo.Name(host)} resolves to {kind} address {address}; refused (allow with the policy's AllowPrivateNetworks or AllowedHosts)";
    }

    /// <summary>A description of a non-public address ("loopback", "private", ...), or null when public.</summary>
    public static string? Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address)) return "loopback";
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return "unspecified";
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 => "unspecified",
                10 => "private",
                100 when b[1] >= 64 && b[1] <= 127 => "shared (CGNAT)",
                127 => "loopback",
                169 when b[1] == 254 => b[2] == 169 && b[3] == 254 ? "cloud metadata" : "link-local",
                172 when b[1] >= 16 && b[1] <= 31 => "private",
                192 when b[1] == 168 => "private",
                192 when b[1] == 0 && b[2] == 0 => "IETF protocol",
                198 when b[1] is 18 or 19 => "benchmarking",
                >= 224 => "multicast/reserved",
                _ => null,
            };
        }

        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal) return "link-local";
        if (address.IsIPv6Multicast) return "multicast";
        var v6 = address.GetAddressBytes();
        if ((v6[0] & 0xFE) == 0xFC) return "private (unique local)";
        // fd00:ec2::254 and similar metadata endpoints are covered by the unique-local rule above.
        return null;
    }

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that resolves the host itself and refuses
    /// disallowed addresses at connect time, so DNS rebinding and redirects cannot slip past a check
    /// made on the URL alone.
    /// </summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> CreateConnectCallback()
        => async (context, cancellationToken) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            string? refusal = null;
            foreach (var address in addresses)
            {
                refusal = CheckAddress(host, address);
                if (refusal is not null)
                {
                    continue;
                }

                // An IPv4-mapped IPv6 address was checked as the IPv4 address it carries; connect to that one too
                // (an IPv6 socket would need IPv6 enabled on the host just to reach an IPv4 peer).
                var target = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
                var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(target, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException)
                {
                    socket.Dispose();
                    if (address.Equals(addresses[^1])) throw;
                }
            }

            throw new HttpRequestException(refusal ?? $"{host} did not resolve to any address", null, HttpStatusCode.Forbidden);
        };

    /// <summary>An <see cref="HttpMessageHandler"/> that enforces this policy on every connection.</summary>
    public SocketsHttpHandler CreateHandler(bool allowAutoRedirect = false) => new()
    {
        ConnectCallback = CreateConnectCallback(),
        AllowAutoRedirect = allowAutoRedirect,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None,
    };
}
