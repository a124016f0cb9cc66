using System.Net;

namespace GraphPipe.Pipelines;

/// <summary>
/// The one transport for outbound calls whose target a client chose (the downloader's image URLs, next
/// stages named in a request's config). Every connection is checked against a <see cref="NetworkPolicy"/>
/// after DNS resolution; environment proxies are never used (a proxy would make the check see the proxy,
/// and a request could reach <c>metadata.google.internal</c> through it); no cookie jar is kept (one
/// client serves every requester, and a cookie set by one target must not travel to another request).
/// </summary>
public static class PolicyCheckedHandler
{
    /// <summary>Builds the handler for <paramref name="policy"/>; with <see cref="NetworkPolicy.Proxy"/> set, the target is checked per request and the proxy is trusted.</summary>
    /// <param name="allowAutoRedirect">Follow redirects in the handler; every hop's connection is still checked. Not supported with a proxy (follow them by hand).</param>
    public static HttpMessageHandler Create(NetworkPolicy policy, bool allowAutoRedirect, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = allowAutoRedirect,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = connectTimeout,
            // Bytes as served: decompressing would let a small body expand past the size limits' intent.
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = policy.Proxy is not null,
            Proxy = policy.Proxy,
        };
        if (policy.Proxy is null)
        {
            handler.ConnectCallback = policy.CreateConnectCallback();
            return handler;
        }

        if (allowAutoRedirect)
        {
            handler.Dispose();
            throw new ArgumentException("Redirects through a proxy cannot be checked in the handler; follow them by hand.", nameof(allowAutoRedirect));
        }

        // Through a proxy, connections go to the proxy (and HTTP ones are pooled across targets), so the
        // target is checked on every request instead.
        return new ProxiedTargetCheck(policy) { InnerHandler = handler };
    }

    private sealed class ProxiedTargetCheck(NetworkPolicy policy) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var target = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
            if (await CheckAsync(target, cancellationToken).ConfigureAwait(false) is { } refusal)
            {
                throw new HttpRequestException(refusal, null, HttpStatusCode.Forbidden);
            }

            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        private async ValueTask<string?> CheckAsync(Uri target, CancellationToken cancellationToken)
        {
            if (policy.CheckUri(target) is { } refusal)
            {
                return refusal;
            }

            var host = target.IdnHost;
            if (policy.AllowPrivateNetworks || policy.AllowedHosts.Contains(host) || IPAddress.TryParse(host, out _))
            {
                return null;
            }

            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                return $"{Echo.Name(host)} could not be resolved here to check it ({ex.SocketErrorCode}); refused (allow it with the policy's AllowedHosts)";
            }

            foreach (var address in addresses)
            {
                // Every answer must be public: the proxy resolves on its own and may pick any of them.
                if (policy.CheckAddress(host, address) is { } addressRefusal)
                {
                    return addressRefusal;
                }
            }

            return addresses.Length == 0 ? $"{Echo.Name(host)} did not resolve to any address" : null;
        }
    }
}
