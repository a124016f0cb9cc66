using System.Net;
using GraphPipe.Client;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Security;

/// <summary>HTTPS and mutual TLS on real Kestrel servers on loopback, configured by the serve flags, with certificates made in the test.</summary>
public sealed class TlsTests(TestPki pki) : IClassFixture<TestPki>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<float[]> InferAsync(Uri address, ClientTlsOptions tls, string? apiKey = null)
    {
        using var http = new HttpClient(tls.Apply(new SocketsHttpHandler()));
        var client = new GraphPipeClient(http, address, new GraphPipeClientOptions { Timeout = Limits.Step, ApiKey = apiKey });
        return await client.InferFloatsAsync([1f, 2f], [1, 2], cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
    }

    [Fact]
    public async Task Serve_TlsCert_AnswersOverHttpsToAClientTrustingTheCa()
    {
        await using var host = await CliHost.StartAsync(DelegateStage.Times("double", 2), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey);

        var outputs = await InferAsync(host.Address, new ClientTlsOptions { TrustedCaFile = pki.CaFile });

        Assert.Equal(Uri.UriSchemeHttps, host.Address.Scheme);
        Assert.Equal([2f, 4f], outputs);
    }

    [Fact]
    public async Task Serve_TlsCert_ClientTrustingAnotherCaOrTheSystemRoots_IsRefused()
    {
        await using var host = await CliHost.StartAsync(DelegateStage.Times("double", 2), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey);

        var otherCa = await Assert.ThrowsAsync<GraphPipeException>(() => InferAsync(host.Address, new ClientTlsOptions { TrustedCaFile = pki.OtherCaFile }));
        var systemRoots = await Assert.ThrowsAsync<GraphPipeException>(() => InferAsync(host.Address, new ClientTlsOptions()));

        Assert.Null(otherCa.StatusCode);
        Assert.Null(systemRoots.StatusCode);
        Assert.Contains("SSL", otherCa.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Serve_ClientCa_AcceptsAClientCertificateOfThatCa()
    {
        await using var host = await CliHost.StartAsync(DelegateStage.Times("double", 2), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile);

        var outputs = await InferAsync(host.Address, new ClientTlsOptions { TrustedCaFile = pki.CaFile, ClientCertificateFile = pki.ClientCert, ClientKeyFile = pki.ClientKey });

        Assert.Equal([2f, 4f], outputs);
    }

    [Fact]
    public async Task Serve_ClientCa_RejectsAClientWithoutCertificate()
    {
        var calls = 0;
        await using var host = await CliHost.StartAsync(DelegateStage.Times("double", 2, () => Interlocked.Increment(ref calls)), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile);

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => InferAsync(host.Address, new ClientTlsOptions { TrustedCaFile = pki.CaFile }));

        Assert.Null(ex.StatusCode);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Serve_ClientCa_RejectsAClientCertificateOfAnotherCa()
    {
        var calls = 0;
        await using var host = await CliHost.StartAsync(DelegateStage.Times("double", 2, () => Interlocked.Increment(ref calls)), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile);

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => InferAsync(host.Address, new ClientTlsOptions { TrustedCaFile = pki.CaFile, ClientCertificateFile = pki.OtherClientCert, ClientKeyFile = pki.OtherClientKey }));

        Assert.Null(ex.StatusCode);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Forward_NextOverHttpsWithMutualTlsAndKey_ReturnsTheNextStagesAnswer()
    {
        var keyFile = pki.Write("next.key.txt", "next-stage-key-123\n");
        await using var model = await CliHost.StartAsync(DelegateStage.Times("triple", 3),
            "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile, "--api-key-file", keyFile);
        await using var front = await CliHost.StartAsync(DelegateStage.Times("double", 2),
            "--next", model.Address.ToString(), "--next-ca", pki.CaFile, "--next-client-cert", pki.ClientCert, "--next-client-key", pki.ClientKey,
            "--next-api-key-file", keyFile, "--readiness-requires-next");
        using var http = new HttpClient();

        var outputs = await InferAsync(front.Address, new ClientTlsOptions());
        var ready = await http.GetAsync(new Uri(front.Address, "control/is_ready"), Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal([6f, 12f], outputs);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task Forward_NextWithoutItsClientCertificate_FailsNamingTheNextStage()
    {
        await using var model = await CliHost.StartAsync(DelegateStage.Times("triple", 3), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile);
        await using var front = await CliHost.StartAsync(DelegateStage.Times("double", 2), "--next", model.Address.ToString(), "--next-ca", pki.CaFile);

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => InferAsync(front.Address, new ClientTlsOptions()));

        Assert.Equal(HttpStatusCode.BadGateway, ex.StatusCode);
        Assert.Contains("next stage", ex.RemoteMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_KestrelEndpointsFromEnvironmentWithClientCa_ServesHttpsAndProbeChecksIt()
    {
        var port = LoopbackPorts.Free();
        var environment = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Main__Url"] = $"https://127.0.0.1:{port}",
            ["Kestrel__Endpoints__Main__Certificate__Path"] = pki.ServerCert,
            ["Kestrel__Endpoints__Main__Certificate__KeyPath"] = pki.ServerKey,
        };
        using var server = CliProcess.Start(CliProcess.GraphPipeDll, ["serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--intra-op-threads", "1", "--client-ca", pki.CaFile], environment);
        try
        {
            var url = await server.ServingUrl.WaitAsync(Limits.Step, Ct);
            var ready = $"https://127.0.0.1:{port}/control/is_ready";

            var withCertificate = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["probe", ready, "--timeout", "20s", "--ca", pki.CaFile, "--client-cert", pki.ClientCert, "--client-key", pki.ClientKey], null, Limits.Step);
            var withoutCertificate = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["probe", ready, "--timeout", "20s", "--ca", pki.CaFile], null, Limits.Step);

            Assert.StartsWith($"https://127.0.0.1:{port}", url, StringComparison.Ordinal);
            Assert.True(withCertificate.ExitCode == 0, withCertificate.Describe());
            Assert.Contains("200", withCertificate.Stdout, StringComparison.Ordinal);
            Assert.True(withoutCertificate.ExitCode == 1, withoutCertificate.Describe());
            Assert.Contains("not reachable", withoutCertificate.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await server.KillAsync();
        }
    }
}
