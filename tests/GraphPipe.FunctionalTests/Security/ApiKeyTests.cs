using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using GraphPipe.Client;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Security;

/// <summary>The optional API key (<c>--api-key-file</c>): checked before the body is read, health left open, sent by each hop to its configured next stage.</summary>
public sealed class ApiKeyTests(TestPki pki) : IClassFixture<TestPki>
{
    private const string Key = "s3cret-key_0123456789";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string KeyFile => pki.Write("api.key", Key + "\n");

    private static byte[] Request() => RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create(new[] { 1f, 2f }, 1, 2)] });

    private static async Task<RawResponse> PostAsync(Uri address, string? authorization)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, address) { Content = new ByteArrayContent(Request()) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return await RawHttp.SendAsync(http, request, Ct).WaitAsync(Limits.Step, Ct);
    }

    [Fact]
    public async Task Post_NoKey_401WithWwwAuthenticateAndAMessageNamingTheHeader()
    {
        var calls = 0;
        await using var host = await CliHost.StartAsync(Counting(() => calls++), "--api-key-file", KeyFile);

        var response = await PostAsync(host.Address, authorization: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.StartsWith("Bearer", Assert.Single(response.Headers.WwwAuthenticate).ToString(), StringComparison.Ordinal);
        Assert.Contains("[echo] API key required (header Authorization)", response.Text, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData("Bearer wrong-key")]
    [InlineData("Bearer " + Key + "x")]
    [InlineData("Basic " + Key)]
    [InlineData(Key)]
    public async Task Post_WrongKeyOrScheme_401(string authorization)
    {
        var calls = 0;
        await using var host = await CliHost.StartAsync(Counting(() => calls++), "--api-key-file", KeyFile);

        var response = await PostAsync(host.Address, authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Contains("not accepted", response.Text, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Post_RightKey_200FromTheStage()
    {
        var calls = 0;
        await using var host = await CliHost.StartAsync(Counting(() => calls++), "--api-key-file", KeyFile);
        using var http = new HttpClient();
        var client = new GraphPipeClient(http, host.Address, new GraphPipeClientOptions { ApiKey = Key });

        var outputs = await client.InferFloatsAsync([1f, 2f], [1, 2], cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([1f, 2f], outputs);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Post_NoKeyAndAHugeDeclaredBody_401BeforeTheBodyIsSent()
    {
        // 60 MB declared (under the 64 MiB limit) and never sent: without the key check first, the server would
        // wait for the body (--body-timeout 120s) and this read would time out.
        await using var host = await CliHost.StartAsync(Counting(() => { }), "--api-key-file", KeyFile, "--body-timeout", "120s");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.Address.Port, Ct);
        var stream = tcp.GetStream();
        var head = $"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {60_000_000}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), Ct);

        var response = await ReadHeadAsync(stream).WaitAsync(Limits.Step, Ct);

        Assert.StartsWith("HTTP/1.1 401", response, StringComparison.Ordinal);
        Assert.Contains("WWW-Authenticate: Bearer", response, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Connection: close", response, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Get_HealthWithoutKey_200AndMetricsWithoutKey_401()
    {
        await using var host = await CliHost.StartAsync(Counting(() => { }), "--api-key-file", KeyFile);
        using var http = new HttpClient();

        var statuses = new Dictionary<string, HttpStatusCode>();
        foreach (var path in new[] { "control/is_alive", "control/is_ready", "v2/health/live", "v2/health/ready", "metrics" })
        {
            using var response = await http.GetAsync(new Uri(host.Address, path), Ct).WaitAsync(Limits.Step, Ct);
            statuses[path] = response.StatusCode;
        }

        using var metricsWithKey = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, "metrics"));
        metricsWithKey.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var withKey = await http.SendAsync(metricsWithKey, Ct).WaitAsync(Limits.Step, Ct);

        Assert.All(statuses.Where(s => s.Key != "metrics"), s => Assert.Equal(HttpStatusCode.OK, s.Value));
        Assert.Equal(HttpStatusCode.Unauthorized, statuses["metrics"]);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }

    [Fact]
    public async Task Forward_NextApiKeyFile_TheHopSendsItsKeyAndWithoutItTheNext401sIsReported()
    {
        var nextKeyFile = pki.Write("next-only.key", "key-of-the-next-stage\n");
        await using var next = await CliHost.StartAsync(DelegateStage.Identity("next"), "--api-key-file", nextKeyFile);
        await using var withKey = await CliHost.StartAsync(DelegateStage.Identity("front"), "--next", next.Address.ToString(), "--next-api-key-file", nextKeyFile);
        await using var withoutKey = await CliHost.StartAsync(DelegateStage.Identity("bare"), "--next", next.Address.ToString());

        var good = await PostAsync(withKey.Address, authorization: null);
        var bad = await PostAsync(withoutKey.Address, authorization: null);

        Assert.Equal(HttpStatusCode.OK, good.Status);
        Assert.Equal(HttpStatusCode.BadGateway, bad.Status);
        Assert.Contains("401", bad.Text, StringComparison.Ordinal);
        Assert.Contains("API key required", bad.Text, StringComparison.Ordinal);
    }

    private static DelegateStage Counting(Action called) => new("echo", (request, _) =>
    {
        called();
        return ValueTask.FromResult(DelegateStage.Echo(request));
    });

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        int read;
        while ((read = await stream.ReadAsync(buffer, Ct)) > 0)
        {
            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            if (text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }

        return text.ToString();
    }
}
