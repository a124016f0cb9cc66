using System.Net;
using System.Net.Sockets;

namespace GraphPipe.Client.Balancing;

/// <summary>
/// The replicas of one stage: a list of URLs and/or DNS names (<c>dns:///name:port</c>) re-resolved every
/// <see cref="BalancingOptions.DnsRefreshInterval"/>, so a Kubernetes headless Service's pods are followed as
/// they come and go. Requests name the group by <see cref="Address"/> (its first entry); the balancing
/// handler sends each to one replica. The replica list is an immutable snapshot swapped atomically; a
/// replica that stays in the list keeps its in-flight count and health across refreshes.
/// </summary>
public sealed class EndpointGroup : IDisposable
{
    /// <summary>The scheme of an entry re-resolved through DNS: <c>dns:///name:port</c> (plain HTTP to each address).</summary>
    public const string DnsScheme = "dns";

    private readonly Uri[] _static;
    private readonly (string Host, int Port, string Path)[] _dns;
    private readonly DnsResolve _resolve;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private ITimer? _timer;
    private BalancedEndpoint[] _endpoints;
    private bool _resolved;

    /// <summary>Resolves a host name to addresses (tests inject one; the default asks the system resolver).</summary>
    public delegate Task<IPAddress[]> DnsResolve(string host, CancellationToken cancellationToken);

    private EndpointGroup(Uri address, Uri[] statics, (string, int, string)[] dns, BalancingOptions options, DnsResolve? resolve)
    {
        Address = address;
        Options = options;
        _static = statics;
        _dns = dns;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
        _endpoints = statics.Distinct().Select(u => new BalancedEndpoint(u)).ToArray();
        _resolved = dns.Length == 0;
    }

    /// <summary>How requests name this group: its first entry (for <c>dns:///name:port</c>, <c>http://name:port/</c>).</summary>
    public Uri Address { get; }

    public BalancingOptions Options { get; }

    /// <summary>Whether the group re-resolves DNS names.</summary>
    public bool UsesDns => _dns.Length > 0;

    /// <summary>The current replicas (a snapshot; resolve DNS first with <see cref="GetEndpointsAsync"/>).</summary>
    public IReadOnlyList<BalancedEndpoint> Endpoints => Volatile.Read(ref _endpoints);

    /// <summary>
    /// Reads an endpoint list: URLs and/or <c>dns:///name:port</c> entries, separated by commas, spaces or <c>|</c>.
    /// Throws <see cref="FormatException"/> naming the entry that is neither.
    /// </summary>
    public static EndpointGroup Parse(string spec, BalancingOptions? options = null, DnsResolve? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new BalancingOptions();
        options.Validate();
        var entries = spec.Split([',', ' ', '|', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (entries.Length == 0)
        {
            throw new FormatException("no endpoint given (expected http(s)://host:port, several separated by commas, or dns:///name:port)");
        }

        var statics = new List<Uri>();
        var dns = new List<(string, int, string)>();
        Uri? address = null;
        foreach (var entry in entries)
        {
            if (!Uri.TryCreate(entry, UriKind.Absolute, out var uri))
            {
                throw new FormatException($"endpoint '{entry}' is not a URL (expected http(s)://host:port or dns:///name:port)");
            }

            if (uri.Scheme == DnsScheme)
            {
                // dns:///name:port (grpc's form; the authority, the DNS server to ask, is not supported).
                var rest = uri.AbsolutePath.TrimStart('/');
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                var hostPort = slash < 0 ? rest : rest[..slash];
                var path = slash < 0 ? "/" : rest[slash..];
                if (uri.Authority.Length > 0 || !Uri.TryCreate($"http://{hostPort}{path}", UriKind.Absolute, out var named) || named.IsDefaultPort && !hostPort.EndsWith(":80", StringComparison.Ordinal))
                {
                    throw new FormatException($"endpoint '{entry}': expected dns:///name:port (three slashes, a port)");
                }

                dns.Add((named.IdnHost, named.Port, named.AbsolutePath));
                address ??= named;
            }
            else if (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            {
                statics.Add(uri);
                address ??= uri;
            }
            else
            {
                throw new FormatException($"endpoint '{entry}': scheme '{uri.Scheme}' is not http, https or dns");
            }
        }

        var group = new EndpointGroup(address!, [.. statics], [.. dns], options, resolve);
        if (dns.Count > 0)
        {
            group._timer = options.TimeProvider.CreateTimer(static state => _ = ((EndpointGroup)state!).RefreshQuietlyAsync(), group, options.DnsRefreshInterval, options.DnsRefreshInterval);
        }

        return group;
    }

    /// <summary>The replicas, resolving DNS names on first use. Empty when a DNS name has no address (yet).</summary>
    public async ValueTask<IReadOnlyList<BalancedEndpoint>> GetEndpointsAsync(CancellationToken cancellationToken)
    {
        if (!Volatile.Read(ref _resolved))
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return Volatile.Read(ref _endpoints);
    }

    /// <summary>Resolves the DNS entries again and swaps in the new replica list. A name that fails to resolve keeps its last addresses.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (_dns.Length == 0)
        {
            return;
        }

        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _endpoints);
            var next = new List<BalancedEndpoint>(current.Length);
            foreach (var uri in _static)
            {
                Keep(next, current, uri);
            }

            foreach (var (host, port, path) in _dns)
            {
                IPAddress[] addresses;
                try
                {
                    addresses = await _resolve(host, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    // Keep what this name resolved to last time rather than lose every replica to one failed lookup.
                    foreach (var kept in current.Where(e => e.Address.Port == port && !_static.Contains(e.Address)))
                    {
                        Keep(next, current, kept.Address);
                    }

                    continue;
                }

                foreach (var ip in addresses.Distinct())
                {
                    var literal = ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
                    Keep(next, current, new Uri($"http://{literal}:{port}{path}"));
                }
            }

            Volatile.Write(ref _endpoints, [.. next]);
            Volatile.Write(ref _resolved, true);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public override string ToString() => Address.ToString();

    private async Task RefreshQuietlyAsync()
    {
        try
        {
            await RefreshAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The group was disposed while the timer fired.
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _refreshing.Dispose();
    }

    private static void Keep(List<BalancedEndpoint> next, BalancedEndpoint[] current, Uri uri)
    {
        if (next.Any(e => e.Address == uri))
        {
            return;
        }

        next.Add(current.FirstOrDefault(e => e.Address == uri) ?? new BalancedEndpoint(uri));
    }
}
