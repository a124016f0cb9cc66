using System.Diagnostics;
using System.Net;
using GraphPipe.Wire;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

/// <summary>SIGTERM to <c>graphpipe serve onnx --demo</c> with requests in flight: readiness fails at once, nothing is lost.</summary>
public sealed partial class DemoModelTests
{
    [Fact]
    public async Task ServeOnnxDemo_SigtermWith64BatchOf8InFlight_LosesNoneAndExitsCleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        using var child = StartCli("serve", "onnx", "--demo", "--listen", "127.0.0.1:0", "--intra-op-threads", "1",
            "--drain-delay", "3s", "--shutdown-timeout", "180s", "--request-timeout", "180s");
        try
        {
            var address = await child.ServingAddressAsync(Demo.ModelName, StartupTimeout);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 128 }) { Timeout = TimeSpan.FromMinutes(4) };
            var rows = fixture.Samples.Take(8).SelectMany(s => s.Input).ToArray();
            var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.Create(rows, 8, 3, 224, 224)], OutputNames = ["top_labels"] });
            // 512 images at one intra-op thread: ~15 s alone, twice that beside the other tests; each answer may take the test's whole budget.
            var requests = Enumerable.Range(0, 64).Select(_ => RawHttp.PostAsync(http, address, body, ct, timeout: TimeSpan.FromMinutes(4))).ToArray();
            // Uploads of 4.8 MB each may still be arriving: the signal comes once the first are running; the rest arrive during the drain delay.
            await WaitForInFlightAsync(http, address, 8, () => string.Join("; ", requests.Where(r => r.IsCompleted).Take(3).Select(r => r.IsCompletedSuccessfully ? $"{(int)r.Result.Status} {r.Result.Text}" : r.Exception?.InnerException?.Message)), ct);

            using (var kill = Process.Start("kill", ["-TERM", child.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(ct);
            }

            // The signal is handled asynchronously: poll readiness until it fails (well within the drain delay).
            var readyStatus = HttpStatusCode.OK;
            var signalled = Stopwatch.StartNew();
            while (readyStatus == HttpStatusCode.OK && signalled.Elapsed < TimeSpan.FromSeconds(2))
            {
                using var ready = await http.GetAsync(new Uri(address, "control/is_ready"), ct).WaitAsync(Limits.Step, ct);
                readyStatus = ready.StatusCode;
                await Task.Delay(20, ct);
            }

            var responses = await Task.WhenAll(requests).WaitAsync(TimeSpan.FromMinutes(4), ct);
            await child.Process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromMinutes(1), ct);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
            var lost = responses.Count(r => r.Status != HttpStatusCode.OK);
            Assert.True(lost == 0, $"{lost} of 64 lost: {string.Join("; ", responses.Where(r => r.Status != HttpStatusCode.OK).Select(r => $"{(int)r.Status} {r.Text}").Distinct())}");
            Assert.All(responses, r => Assert.Equal([8L, 5], Assert.Single(GraphPipeReader.ReadInferResponse(r.Body).Outputs).Shape.ToArray()));
            Assert.True(child.Process.ExitCode == 0, child.Stderr);
        }
        finally
        {
            await child.KillAsync();
        }
    }

    /// <summary>Waits until the host reports <paramref name="count"/> requests running or queued (its readiness detail).</summary>
    private static async Task WaitForInFlightAsync(HttpClient http, Uri address, int count, Func<string> describe, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var json = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(address, "control/is_ready"), ct));
            var ready = json.RootElement.GetProperty("checks").GetProperty("ready");
            var inFlight = int.Parse(ready.GetProperty("running").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                + int.Parse(ready.GetProperty("queued").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            if (inFlight >= count)
            {
                return;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), $"only {inFlight} of {count} requests in flight; completed: {describe()}");
            await Task.Delay(20, ct);
        }
    }
}
