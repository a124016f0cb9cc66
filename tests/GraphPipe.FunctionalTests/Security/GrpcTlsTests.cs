using GraphPipe.Client;
using GraphPipe.Server.OpenInference.Grpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace GraphPipe.FunctionalTests.Security;

/// <summary>
/// The OIP gRPC listener (<c>--grpc-listen</c>) takes the HTTP listener's TLS settings (<c>--tls-cert</c>,
/// <c>--tls-key</c>, <c>--client-ca</c>) and its API key: a .NET gRPC client over TLS with certificates made in
/// the test, on a real Kestrel host built from the serve flags.
/// </summary>
public sealed class GrpcTlsTests(TestPki pki) : IClassFixture<TestPki>
{
    private const string Key = "grpc-key_0123456789";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DateTime Deadline => DateTime.UtcNow + Limits.Step;

    private Task<CliHost> StartAsync(params string[] extra)
        => CliHost.StartAsync(DelegateStage.Identity("identity"), ["--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--grpc-listen", "127.0.0.1:0", .. extra]);

    private static GrpcChannel Channel(Uri address, ClientTlsOptions tls)
        => GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = tls.Apply(new SocketsHttpHandler()), DisposeHttpClient = true });

    private static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    [Fact]
    public async Task Grpc_TlsCert_ServesOverTlsToAClientTrustingTheCa()
    {
        await using var host = await StartAsync();
        using var channel = Channel(host.GrpcAddress!, new ClientTlsOptions { TrustedCaFile = pki.CaFile });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "identity" }, deadline: Deadline, cancellationToken: Ct);

        Assert.Equal(Uri.UriSchemeHttps, host.GrpcAddress!.Scheme);
        Assert.Equal("identity", metadata.Name);
    }

    [Fact]
    public async Task Grpc_TlsCert_PlaintextClientGetsNoAnswer()
    {
        await using var host = await StartAsync();
        var plaintext = new UriBuilder(host.GrpcAddress!) { Scheme = Uri.UriSchemeHttp }.Uri;
        using var channel = GrpcChannel.ForAddress(plaintext);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct));

        Assert.NotEqual(StatusCode.OK, error.StatusCode);
    }

    [Fact]
    public async Task Grpc_ClientCa_AcceptsTheCasClientCertificateAndRefusesNoneOrAnothers()
    {
        await using var host = await StartAsync("--client-ca", pki.CaFile);
        using var good = Channel(host.GrpcAddress!, new ClientTlsOptions { TrustedCaFile = pki.CaFile, ClientCertificateFile = pki.ClientCert, ClientKeyFile = pki.ClientKey });
        using var none = Channel(host.GrpcAddress!, new ClientTlsOptions { TrustedCaFile = pki.CaFile });
        using var other = Channel(host.GrpcAddress!, new ClientTlsOptions { TrustedCaFile = pki.CaFile, ClientCertificateFile = pki.OtherClientCert, ClientKeyFile = pki.OtherClientKey });

        var live = await new GRPCInferenceService.GRPCInferenceServiceClient(good).ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct);
        var withoutCertificate = await Assert.ThrowsAsync<RpcException>(async () => await new GRPCInferenceService.GRPCInferenceServiceClient(none).ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct));
        var otherCa = await Assert.ThrowsAsync<RpcException>(async () => await new GRPCInferenceService.GRPCInferenceServiceClient(other).ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct));

        Assert.True(live.Live);
        Assert.Equal(StatusCode.Unavailable, withoutCertificate.StatusCode);
        Assert.Equal(StatusCode.Unavailable, otherCa.StatusCode);
    }

    [Fact]
    public async Task Grpc_ApiKey_UnauthenticatedWithoutItAnsweredWithIt()
    {
        await using var host = await StartAsync("--api-key-file", pki.Write("grpc-api.key", Key + "\n"));
        using var channel = Channel(host.GrpcAddress!, new ClientTlsOptions { TrustedCaFile = pki.CaFile });
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var request = new ModelInferRequest { ModelName = "identity" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "in", Datatype = "FP32", Shape = { 1, 2 }, Contents = new InferTensorContents { Fp32Contents = { 1f, 2f } } });

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(request, deadline: Deadline, cancellationToken: Ct));
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(request, Bearer("not-the-key"), Deadline, Ct));
        var answered = await client.ModelInferAsync(request, Bearer(Key), Deadline, Ct);
        // Health stays open, as over HTTP.
        var live = await client.ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct);

        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("API key required", missing.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal([1f, 2f], answered.Outputs[0].Contents.Fp32Contents);
        Assert.True(live.Live);
    }
}
