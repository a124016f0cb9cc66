using System.Net;
using System.Text.Json;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.FunctionalTests.OpenInference;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Server.OpenInference;
using GraphPipe.Stages;
using GraphPipe.Tests;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// A next hop named in a request (GraphPipe's config, OIP's graphpipe_next) with several replicas separated by
/// '|': balanced with passive health and retries like --next, every URL of the list checked by the stage's
/// SSRF policy before anything is sent. Real loopback servers.
/// </summary>
public sealed class HybridHopReplicaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<GraphPipeStageHost> FirstAsync(NetworkPolicy policy)
        => GraphPipeStageHost.StartAsync(s =>
        {
            s.AddForwardingStage("first", DelegateStage.Times("first", 2), new ForwardingOptions { ConfigPolicy = policy }, isDefault: true);
            s.AddOpenInference();
        }, cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

    [Fact]
    public async Task ConfigNext_ReplicaListWithOneRefusingConnections_EveryRequestAnsweredOverTheOthers()
    {
        int calls1 = 0, calls2 = 0;
        await using var next1 = await GraphPipeStageHost.StartAsync(DelegateStage.Times("next", 3, () => Interlocked.Increment(ref calls1))).WaitAsync(Limits.Step, Ct);
        await using var next2 = await GraphPipeStageHost.StartAsync(DelegateStage.Times("next", 3, () => Interlocked.Increment(ref calls2))).WaitAsync(Limits.Step, Ct);
        await using var first = await FirstAsync(NetworkPolicy.AllowAll);
        var refused = $"127.0.0.1:{LoopbackPorts.Free()}";
        using var ejections = new MetricRecorder(BalancingTelemetry.MeterName, "graphpipe.client.endpoint.ejections", "endpoint");
        using var http = new HttpClient { Timeout = Limits.Step };
        var client = new GraphPipeClient(http, first.Address);
        var config = $"http://{refused}/|{next1.Address}|{next2.Address}";

        for (var i = 0; i < 30; i++)
        {
            var outputs = await client.InferFloatsAsync([1f, 2f], [1, 2], config, Ct).WaitAsync(Limits.Step, Ct);
            Assert.Equal([6f, 12f], outputs);
        }

        Assert.Equal(30, calls1 + calls2);
        Assert.True(calls1 > 0 && calls2 > 0, $"not balanced: {calls1} and {calls2}");
        Assert.Equal(1, ejections.For(refused));
    }

    [Fact]
    public async Task ConfigNext_ReplicaListWithAPrivateEndpoint_400NamingTheEndpointAndNothingSent()
    {
        var calls = 0;
        await using var next = await GraphPipeStageHost.StartAsync(DelegateStage.Times("next", 3, () => Interlocked.Increment(ref calls))).WaitAsync(Limits.Step, Ct);
        // 127.0.0.1 is allowed (the test's replica); 10.1.2.3, a private address later in the list, is not.
        await using var first = await FirstAsync(new NetworkPolicy { AllowedHosts = new HashSet<string> { "127.0.0.1" } });
        using var http = new HttpClient { Timeout = Limits.Step };
        var list = $"{next.Address}|http://10.1.2.3:9000/";

        var graphPipe = await RawHttp.PostAsync(http, first.Address, RawHttp.Encode(new InferRequest { Config = list, Inputs = [Tensor.Create<float>([1f], [1, 1])] }), Ct);
        var oip = await OipHost.PostJsonAsync(http, new Uri(first.Address, "v2/models/first/infer"), Json(list), Ct);

        foreach (var response in (RawResponse[])[graphPipe, oip])
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.Status);
            Assert.Contains("[first]", response.Text, StringComparison.Ordinal);
            Assert.Contains("(named in the request's config; OIP: graphpipe_next): endpoint http://10.1.2.3:9000/ refused: 10.1.2.3 resolves to private address 10.1.2.3", response.Text, StringComparison.Ordinal);
        }

        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task OipGraphpipeNext_ReplicaListWithOneRefusing_AnsweredByTheOther()
    {
        await using var next = await GraphPipeStageHost.StartAsync(DelegateStage.Times("next", 3)).WaitAsync(Limits.Step, Ct);
        await using var first = await FirstAsync(NetworkPolicy.AllowAll);
        using var http = new HttpClient { Timeout = Limits.Step };
        var list = $"http://127.0.0.1:{LoopbackPorts.Free()}/|{next.Address}";

        for (var i = 0; i < 5; i++)
        {
            var response = await OipHost.PostJsonAsync(http, new Uri(first.Address, "v2/models/first/infer"), Json(list), Ct);
            Assert.True(response.Status == HttpStatusCode.OK, response.Text);
            var output = JsonDocument.Parse(response.Body).RootElement.GetProperty("outputs")[0];
            Assert.Equal([6f], output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
        }
    }

    [Fact]
    public async Task ConfigNext_DnsEntry_EveryAddressOfTheNameIsAReplica()
    {
        var calls = 0;
        await using var next = await GraphPipeStageHost.StartAsync(DelegateStage.Times("next", 3, () => Interlocked.Increment(ref calls))).WaitAsync(Limits.Step, Ct);
        await using var first = await FirstAsync(NetworkPolicy.AllowAll);
        using var http = new HttpClient { Timeout = Limits.Step };
        var client = new GraphPipeClient(http, first.Address);

        // localhost may resolve to ::1 too, where nothing listens: that replica is retried around and ejected.
        for (var i = 0; i < 10; i++)
        {
            var outputs = await client.InferFloatsAsync([1f], [1, 1], $"dns:///localhost:{next.Address.Port}", Ct).WaitAsync(Limits.Step, Ct);
            Assert.Equal([6f], outputs);
        }

        Assert.Equal(10, calls);
    }

    private static string Json(string next) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["parameters"] = new Dictionary<string, object> { ["graphpipe_next"] = next },
        ["inputs"] = new[] { new Dictionary<string, object> { ["name"] = "in", ["shape"] = new[] { 1, 1 }, ["datatype"] = "FP32", ["data"] = new[] { 1f } } },
    });
}
