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

    /// <summary>
    /// A proxy for the connections this policy checks, configured explicitly; null (the default) connects
    /// directly. Environment proxies (<c>HTTP_PROXY</c>, <c>HTTPS_PROXY</c>) are never used for them:
    /// through a proxy the connect-time check would see the proxy's address, not the target's. With a
    /// proxy, each request's target host is resolved and checked before the request goes to the proxy.
    /// </summary>
    public IWebProxy? Proxy { get; init; }

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

        // IsLoopback covers 127.0.0.0/8 and ::1; 0.0.0.0/8 and :: (IPv4-compatible 0.0.0.0) are "unspecified" below.
        if (IPAddress.IsLoopback(address)) return "loopback";
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 => "unspecified",
                10 => "private",
                100 when b[1] >= 64 && b[1] <= 127 => "shared (CGNAT)",
                169 when b[1] == 254 => b[2] == 169 && b[3] == 254 ? "cloud metadata" : "link-local",
                172 when b[1] >= 16 && b[1] <= 31 => "private",
                192 when b[1] == 168 => "private",
                192 when b[1] == 0 && b[2] == 0 => "IETF protocol",
                198 when b[1] is 18 or 19 => "benchmarking",
                >= 224 => "multicast/reserved",
                _ => null,
            };
        }

        if (ClassifyEmbeddedIpv4(address) is { } embedded) return embedded.Length == 0 ? null : embedded;
        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal) return "link-local";
        if (address.IsIPv6Multicast) return "multicast";
        var v6 = address.GetAddressBytes();
        if ((v6[0] & 0xFE) == 0xFC) return "private (unique local)";
        // fd00:ec2::254 and similar metadata endpoints are covered by the unique-local rule above.
        return null;
    }

    /// <summary>
    /// IPv6 forms that carry an IPv4 address are classified by the address they carry: a NAT64 gateway,
    /// a 6to4 relay or a dual stack would deliver the packets there. Null when <paramref name="address"/>
    /// carries none; empty when the carried address is public.
    /// </summary>
    /// <remarks>
    /// Teredo (2001:0::/32) is refused outright: it carries two IPv4 addresses (the server's in bits
    /// 32..64, the client's NAT address inverted in the last 32 bits), is reached only through relays we
    /// do not control, and no server a stage should call lives on it (Teredo is deprecated and off by
    /// default everywhere). The NAT64 local-use range 64:ff9b:1::/48 is non-public by definition; the
    /// IPv4 address in its last 32 bits names the class when it is non-public itself.
    /// </remarks>
    private static string? ClassifyEmbeddedIpv4(IPAddress address)
    {
        // Only IPv6 addresses get here (IPv4 is classified before): always 16 bytes.
        ReadOnlySpan<byte> b = address.GetAddressBytes();
        string? rangeClass = null;
        int at;
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0)
        {
            return "Teredo";
        }
        else if (b[0] == 0x20 && b[1] == 0x02)
        {
            at = 2; // 6to4 2002:V4ADDR::/48
        }
        else if (b[..4].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x64, 0xff, 0x9b]) && !b[4..12].ContainsAnyExcept((byte)0))
        {
            at = 12; // NAT64 well-known prefix 64:ff9b::/96
        }
        else if (b[..6].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01]))
        {
            at = 12; // NAT64 local-use 64:ff9b:1::/48 (the /96 form)
            rangeClass = "NAT64 local-use";
        }
        else if (!b[..12].ContainsAnyExcept((byte)0))
        {
            at = 12; // IPv4-compatible ::a.b.c.d (::1 is classified before; :: carries 0.0.0.0, "unspecified")
        }
        else if (!b[..8].ContainsAnyExcept((byte)0) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
        {
            at = 12; // IPv4-translated ::ffff:0:a.b.c.d
        }
        else
        {
            return null;
        }

        return Classify(new IPAddress(b.Slice(at, 4))) ?? rangeClass ?? string.Empty;
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
            // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (no synchronization context)
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
                    // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (no synchronization context)
                    await socket.ConnectAsync(new IPEndPoint(target, context.DnsEndPoint.Port), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (SocketException)
                {
                    // Stryker disable once Statement : a socket that never connected holds no connection; only its handle would wait for the finalizer
                    socket.Dispose();
                    if (address.Equals(addresses[^1])) throw;
                }
            }

            // Stryker disable once String : no address at all is unreachable in practice (the resolver throws instead)
            throw new HttpRequestException(refusal ?? $"{host} did not resolve to any address", null, HttpStatusCode.Forbidden);
        };

    /// <summary>
    /// The transport for every connection made on a client's behalf (image URLs, next stages named in a
    /// request): see <see cref="PolicyCheckedHandler"/>. Environment proxies (<c>HTTP_PROXY</c>) are never
    /// used and there is no cookie jar; <paramref name="connectTimeout"/> defaults to 10 s.
    /// </summary>
    public HttpMessageHandler CreateHandler(bool allowAutoRedirect = false, TimeSpan? connectTimeout = null)
        => PolicyCheckedHandler.Create(this, allowAutoRedirect, connectTimeout ?? TimeSpan.FromSeconds(10));
}
