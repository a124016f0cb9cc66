using System.Text.Json;
using GraphPipe.Cli;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Security;

/// <summary>
/// <c>graphpipe metadata</c> and <c>graphpipe bench</c> take an endpoint list (like <c>infer</c> and
/// <c>classy --model</c>) and the client TLS flags and API key of the other client commands: run as processes
/// against a replica that refuses connections and a real host with mutual TLS and a key.
/// </summary>
public sealed class ClientCommandTlsTests(TestPki pki) : IClassFixture<TestPki>
{
    private const string Key = "cli-key_0123456789";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<CliHost> StartAsync(Action called)
        => CliHost.StartAsync(new DelegateStage("identity", (request, _) =>
        {
            called();
            return ValueTask.FromResult(DelegateStage.Echo(request));
        }), "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaFile, "--api-key-file", pki.Write("cli-api.key", Key + "\n"));

    private string[] Auth => ["--ca", pki.CaFile, "--client-cert", pki.ClientCert, "--client-key", pki.ClientKey, "--api-key-file", pki.Write("cli-client.key", Key + "\n")];

    [Fact]
    public async Task Metadata_ListWithARefusingReplica_AnswersOverMutualTlsWithTheKey()
    {
        await using var host = await StartAsync(() => { });
        var list = $"https://127.0.0.1:{LoopbackPorts.Free()},{host.Address}";

        var result = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["metadata", list, .. Auth], null, Limits.Step);
        var json = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["metadata", list, "--json", .. Auth], null, Limits.Step);
        var withoutCertificate = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["metadata", host.Address.ToString(), "--ca", pki.CaFile], null, Limits.Step);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("name:        identity", result.Stdout, StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.Describe());
        Assert.Equal("identity", JsonDocument.Parse(json.Stdout).RootElement.GetProperty("name").GetString());
        Assert.NotEqual(0, withoutCertificate.ExitCode);
    }

    [Fact]
    public async Task Bench_ListWithARefusingReplica_EveryRequestSucceedsOverMutualTlsWithTheKey()
    {
        var calls = 0;
        await using var host = await StartAsync(() => Interlocked.Increment(ref calls));
        var input = Path.Combine(pki.Directory, "bench-in.npy");
        Npy.Write(input, Tensor.Create<float>([1f, 2f], [1, 2]));
        var list = $"https://127.0.0.1:{LoopbackPorts.Free()},{host.Address}";

        var result = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["bench", list, input, "--requests", "40", "--concurrency", "2", "--warmup", "0s", "--json", .. Auth], null, Limits.Step);
        var withoutKey = await CliProcess.RunAsync(CliProcess.GraphPipeDll, ["bench", host.Address.ToString(), input, "--requests", "5", "--warmup", "0s", "--json", "--ca", pki.CaFile, "--client-cert", pki.ClientCert, "--client-key", pki.ClientKey], null, Limits.Step);

        Assert.True(result.ExitCode == 0, result.Describe());
        var level = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("levels")[0];
        Assert.Equal(40, level.GetProperty("requests").GetInt32());
        Assert.Equal(40, level.GetProperty("succeeded").GetInt32());
        Assert.Equal(40, calls);
        Assert.Equal(1, withoutKey.ExitCode);
        Assert.Contains("http 401", withoutKey.Stdout, StringComparison.Ordinal);
    }
}
