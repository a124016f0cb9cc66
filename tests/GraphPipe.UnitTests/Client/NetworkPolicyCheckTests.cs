using System.Net;
using System.Net.Sockets;
using System.Text;
using GraphPipe.Pipelines;

namespace GraphPipe.UnitTests;

/// <summary>The SSRF policy's URL and address checks, its exceptions, and the handler that enforces it at connect time.</summary>
public sealed class NetworkPolicyCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("ftp://example.com/cat.png")]
    [InlineData("file:///etc/passwd")]
    [InlineData("gopher://example.com/")]
    public void CheckUri_NotHttp_Refused(string url)
        => Assert.Equal("only absolute http and https URLs are allowed", new NetworkPolicy().CheckUri(new Uri(url)));

    [Fact]
    public void CheckUri_Relative_Refused()
        => Assert.Equal("only absolute http and https URLs are allowed", new NetworkPolicy().CheckUri(new Uri("/cat.png", UriKind.Relative)));

    [Theory]
    [InlineData("http://user:secret@example.com/")]
    [InlineData("https://user@example.com/")]
    public void CheckUri_Credentials_Refused(string url)
        => Assert.Equal("URLs with credentials are not allowed", NetworkPolicy.AllowAll.CheckUri(new Uri(url)));

    [Theory]
    [InlineData("http://example.com/cat.png")]
    [InlineData("https://example.com:8443/cat.png")]
    [InlineData("http://8.8.8.8/cat.png")]
    [InlineData("http://[2001:4860:4860::8888]/cat.png")]
    public void CheckUri_PublicHostOrAddress_Allowed(string url)
        => Assert.Null(new NetworkPolicy().CheckUri(new Uri(url)));

    [Theory]
    [InlineData("http://10.0.0.1/x", "10.0.0.1 resolves to private address 10.0.0.1; refused")]
    [InlineData("https://[::ffff:169.254.169.254]/x", "::ffff:169.254.169.254 resolves to cloud metadata address ::ffff:169.254.169.254; refused")]
    [InlineData("http://[fe80::1]:8080/x", "fe80::1 resolves to link-local address fe80::1; refused")] // Uri.IdnHost drops the brackets
    public void CheckUri_NonPublicLiteral_RefusedNamingHostKindAndAddress(string url, string start)
    {
        var refusal = new NetworkPolicy().CheckUri(new Uri(url));

        Assert.NotNull(refusal);
        Assert.StartsWith(start, refusal, StringComparison.Ordinal);
        Assert.EndsWith("(allow with the policy's AllowPrivateNetworks or AllowedHosts)", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckUri_NonPublicLiteralWithAllowPrivateNetworks_Allowed()
    {
        Assert.Null(new NetworkPolicy { AllowPrivateNetworks = true }.CheckUri(new Uri("http://127.0.0.1/x")));
        Assert.Null(NetworkPolicy.AllowAll.CheckUri(new Uri("http://169.254.169.254/x")));
    }

    [Fact]
    public void CheckAddress_AllowedByHostName_AllowedWhateverItResolvesTo()
    {
        var policy = new NetworkPolicy { AllowedHosts = new HashSet<string>(["model.internal"], StringComparer.OrdinalIgnoreCase) };

        Assert.Null(policy.CheckAddress("MODEL.internal", IPAddress.Parse("10.1.2.3")));
        Assert.NotNull(policy.CheckAddress("other.internal", IPAddress.Parse("10.1.2.3")));
    }

    [Fact]
    public void CheckAddress_AllowedByAddress_AllowsThatAddressOnly()
    {
        var policy = new NetworkPolicy { AllowedHosts = new HashSet<string>(["10.1.2.3"]) };

        Assert.Null(policy.CheckAddress("model.internal", IPAddress.Parse("10.1.2.3")));
        Assert.Equal(
            "model.internal resolves to private address 10.1.2.4; refused (allow with the policy's AllowPrivateNetworks or AllowedHosts)",
            policy.CheckAddress("model.internal", IPAddress.Parse("10.1.2.4")));
    }

    [Fact]
    public void CheckAddress_PublicAddress_Allowed()
        => Assert.Null(new NetworkPolicy().CheckAddress("example.com", IPAddress.Parse("93.184.216.34")));

    [Fact]
    public void CheckAddress_LongHostName_IsShortenedInTheMessage()
    {
        var host = new string('h', 5000) + ".example";

        var refusal = new NetworkPolicy().CheckAddress(host, IPAddress.Loopback);

        Assert.NotNull(refusal);
        Assert.True(refusal.Length < 1000, $"{refusal.Length} chars");
        Assert.Contains("resolves to loopback address 127.0.0.1; refused", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Checks_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new NetworkPolicy().CheckUri(null!));
        Assert.Throws<ArgumentNullException>(() => new NetworkPolicy().CheckAddress("h", null!));
        Assert.Throws<ArgumentNullException>(() => NetworkPolicy.Classify(null!));
    }

    [Fact]
    public void AllowAll_AllowsPrivateNetworks()
        => Assert.True(NetworkPolicy.AllowAll.AllowPrivateNetworks);

    [Fact]
    public void Defaults_PublicOnlyAndNoAllowedHosts()
    {
        var policy = new NetworkPolicy();

        Assert.False(policy.AllowPrivateNetworks);
        Assert.Empty(policy.AllowedHosts);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CreateHandler_Settings_RedirectsAsAskedAndBoundedConnections(bool redirects)
    {
        // Without an explicit proxy the policy's handler is the SocketsHttpHandler itself.
        using var handler = Assert.IsType<SocketsHttpHandler>(new NetworkPolicy().CreateHandler(redirects));

        Assert.Equal(redirects, handler.AllowAutoRedirect);
        Assert.False(handler.UseProxy);
        Assert.False(handler.UseCookies);
        Assert.NotNull(handler.ConnectCallback);
        Assert.Equal(TimeSpan.FromSeconds(10), handler.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), handler.PooledConnectionLifetime);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
    }

    [Fact]
    public void CreateHandler_Default_DoesNotFollowRedirects()
    {
        using var handler = Assert.IsType<SocketsHttpHandler>(new NetworkPolicy().CreateHandler());

        Assert.False(handler.AllowAutoRedirect);
    }

    [Fact]
    public async Task Handler_HostNameResolvingToLoopback_RefusedAtConnectTimeWithoutConnecting()
    {
        using var origin = new OneShotOrigin();
        using var http = new HttpClient(new NetworkPolicy().CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri($"http://localhost:{origin.Port}/"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));

        Assert.Contains("localhost resolves to loopback address", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, FindStatus(error));
        Assert.False(origin.Accepted, "the policy connected before refusing");
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task Handler_AllowedHost_Connects(string host)
    {
        using var origin = new OneShotOrigin();
        var allowed = host.Trim('[', ']');
        using var http = new HttpClient(new NetworkPolicy { AllowedHosts = new HashSet<string>([allowed, "::ffff:127.0.0.1"]) }.CreateHandler());

        var body = await http.GetStringAsync(new Uri($"http://{host}:{origin.Port}/"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal("ok", body);
        Assert.True(origin.Accepted);
    }

    [Fact]
    public async Task Handler_Ipv6LoopbackAllowed_ConnectsOverIpv6()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Skip("[ci-allowed] this host has IPv6 turned off; an IPv6 loopback origin cannot exist");
        }

        // Only IPv4-mapped addresses are connected to as IPv4; a real IPv6 address must stay IPv6.
        using var origin = new OneShotOrigin(IPAddress.IPv6Loopback);
        using var http = new HttpClient(NetworkPolicy.AllowAll.CreateHandler());

        var body = await http.GetStringAsync(new Uri($"http://[::1]:{origin.Port}/"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Equal("ok", body);
    }

    [Fact]
    public async Task ConnectCallback_Connects_WithNagleOff()
    {
        using var origin = new OneShotOrigin();
        var connect = NetworkPolicy.AllowAll.CreateConnectCallback();
        bool? noDelay = null;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var stream = Assert.IsType<NetworkStream>(await connect(context, ct));
                noDelay = stream.Socket.NoDelay; // read now: the origin closes the connection after its answer
                return stream;
            },
        };
        using var http = new HttpClient(handler);

        Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://127.0.0.1:{origin.Port}/"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));

        // Small requests (a GraphPipe header, a short URL list) must not wait for Nagle's delayed ACK.
        Assert.True(noDelay);
    }

    [Fact]
    public void CreateHandler_ConnectTimeout_Honoured()
    {
        using var handler = Assert.IsType<SocketsHttpHandler>(new NetworkPolicy().CreateHandler(connectTimeout: TimeSpan.FromSeconds(3)));

        Assert.Equal(TimeSpan.FromSeconds(3), handler.ConnectTimeout);
    }

    [Fact]
    public async Task Handler_AllowedAddressNothingListening_FailsToConnect()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var http = new HttpClient(NetworkPolicy.AllowAll.CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct));

        Assert.IsType<SocketException>(error.InnerException, exactMatch: false);
    }

    [Fact]
    public async Task Handler_Disposed_ClosesTheConnectionItMade()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var http = new HttpClient(NetworkPolicy.AllowAll.CreateHandler());
        var get = http.GetStringAsync(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"), Ct);
        using var origin = await listener.AcceptTcpClientAsync(Ct);
        var stream = origin.GetStream();
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, Ct);
            Assert.NotEqual(0, n);
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        // A keep-alive answer: the pooled connection stays open until the client is disposed.
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), Ct);
        Assert.Equal("ok", await get.WaitAsync(TimeSpan.FromSeconds(30), Ct));

        http.Dispose();

        // The stream the connect callback returned owns its socket: disposing it closes the connection (end of stream here).
        Assert.Equal(0, await stream.ReadAsync(buffer, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    private static HttpStatusCode? FindStatus(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { StatusCode: { } status }) return status;
        }

        return null;
    }

    /// <summary>A loopback TCP origin (127.0.0.1) that answers one HTTP request with "ok" and records whether anyone connected.</summary>
    private sealed class OneShotOrigin : IDisposable
    {
        private readonly TcpListener _listener;
        private volatile bool _accepted;

        public OneShotOrigin(IPAddress? address = null)
        {
            _listener = new(address ?? IPAddress.Loopback, 0);
            _listener.Start();
            _ = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public bool Accepted => _accepted;

        public void Dispose() => _listener.Stop();

        private async Task ServeAsync()
        {
            try
            {
                using var client = await _listener.AcceptTcpClientAsync();
                _accepted = true;
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var seen = new StringBuilder();
                while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer);
                    if (n == 0) return;
                    seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray());
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // Stopped, or the client went away.
            }
        }
    }
}
