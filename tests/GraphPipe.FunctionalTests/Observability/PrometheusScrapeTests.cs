using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GraphPipe.Server;

namespace GraphPipe.FunctionalTests.Observability;

/// <summary>
/// Debian's Prometheus, started on loopback with a scrape config pointing at a running stage: its HTTP
/// query API finds the requests the test made. Skips (with the reason) where Prometheus is not installed;
/// .ci/run installs it and fails the run on any skip.
/// </summary>
public sealed class PrometheusScrapeTests
{
    private const string PrometheusPath = "/usr/bin/prometheus";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Prometheus_ScrapesAStage_QueryApiFindsItsRequests()
    {
        Assert.SkipUnless(File.Exists(PrometheusPath), "Prometheus is not installed (.ci/run installs Debian's prometheus)");
        await using var host = await GraphPipeStageHost.StartAsync(s => s.AddStage("scraped", DelegateStage.Identity("scraped")).AddTelemetry("prometheus-test"), cancellationToken: Ct);
        using var http = new HttpClient { Timeout = Limits.Step };
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create<float>([1f], 1, 1)] });
        for (var i = 0; i < 7; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await RawHttp.PostAsync(http, host.Address, body, Ct)).Status);
        }

        var dir = Directory.CreateTempSubdirectory("graphpipe-prometheus-");
        var port = LoopbackPorts.Free();
        await File.WriteAllTextAsync(Path.Combine(dir.FullName, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: graphpipe
                metrics_path: /metrics
                static_configs:
                  - targets: ['{host.Address.Authority}']
            """, Ct);
        var info = new ProcessStartInfo(PrometheusPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { $"--config.file={dir.FullName}/prometheus.yml", $"--storage.tsdb.path={dir.FullName}/data", $"--web.listen-address=127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(arg);
        }

        using var prometheus = Process.Start(info)!;
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            var query = Uri.EscapeDataString("sum(graphpipe_server_requests_total{graphpipe_stage=\"scraped\",http_response_status_code=\"200\"})");
            var api = new Uri($"http://127.0.0.1:{port}/api/v1/query?query={query}");
            var watch = Stopwatch.StartNew();
            string? value = null;
            while (value != "7")
            {
                Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"Prometheus did not report 7 requests in 60 s (last value: {value ?? "none"})");
                Assert.False(prometheus.HasExited, $"Prometheus exited with {(prometheus.HasExited ? prometheus.ExitCode : 0)}");
                await Task.Delay(500, Ct);
                try
                {
                    using var json = JsonDocument.Parse(await http.GetStringAsync(api, Ct));
                    var result = json.RootElement.GetProperty("data").GetProperty("result");
                    value = result.GetArrayLength() > 0 ? result[0].GetProperty("value")[1].GetString() : null;
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
            }

            Assert.Equal("7", value);
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync(Ct);
            dir.Delete(recursive: true);
        }
    }
}
