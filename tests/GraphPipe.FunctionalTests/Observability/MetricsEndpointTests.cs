using System.Net;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Observability;

/// <summary><c>/metrics</c> in Prometheus text format on a host with telemetry on.</summary>
public sealed class MetricsEndpointTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_AfterRequests_ExposeCountsLatencyBytesAndRunTimeByStage()
    {
        var stage = DelegateStage.Identity("metered");
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("metered", stage).AddTelemetry("metrics-test"), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>([1f, 2f], 1, 2)] });
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await RawHttp.PostAsync(http, host.Address, body, Ct).WaitAsync(Limits.Step, Ct)).Status);
        }

        var bad = await RawHttp.PostAsync(http, host.Address, [1, 2, 3], Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);

        using var response = await http.GetAsync(new Uri(host.Address, "metrics"), Ct).WaitAsync(Limits.Step, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Matches(@"graphpipe_server_requests_total\{[^}]*graphpipe_stage=""metered""[^}]*http_response_status_code=""200""[^}]*\} 3", text);
        Assert.Matches(@"graphpipe_server_requests_total\{[^}]*graphpipe_stage=""metered""[^}]*http_response_status_code=""400""[^}]*\} 1", text);
        Assert.Matches(@"graphpipe_server_request_duration_seconds_bucket\{[^}]*graphpipe_stage=""metered""[^}]*le=""0.005""\}", text);
        Assert.Matches(@"graphpipe_stage_run_duration_seconds_count\{[^}]*graphpipe_stage=""metered""[^}]*\} 3", text);
        Assert.Matches(@"graphpipe_server_request_body_size_bytes_sum\{[^}]*graphpipe_stage=""metered""[^}]*\} \d+", text);
        Assert.Contains("graphpipe_server_active_requests", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterALargeRequest_KeepKestrelMetricsButNotThePerBlockMemoryPoolOnes()
    {
        var stage = DelegateStage.Identity("pooled");
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("pooled", stage).AddTelemetry("metrics-test"), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient();
        // 256 KB: Kestrel rents dozens of pool blocks to carry it each way.
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>(new float[64 * 1024], 1, 64 * 1024)] });
        Assert.Equal(HttpStatusCode.OK, (await RawHttp.PostAsync(http, host.Address, body, Ct).WaitAsync(Limits.Step, Ct)).Status);

        using var response = await http.GetAsync(new Uri(host.Address, "metrics"), Ct).WaitAsync(Limits.Step, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.Contains("kestrel_active_connections", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.DoesNotContain("memory_pool", text, StringComparison.Ordinal);
    }
}
