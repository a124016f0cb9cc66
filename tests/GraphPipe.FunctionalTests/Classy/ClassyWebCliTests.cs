using System.Net;
using System.Text.Json;
using GraphPipe.Server;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary><c>classy web</c> as a user starts it (a child process): with running stages, with its own in-process stages, and with a bad flag.</summary>
public sealed class ClassyWebCliTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Web_BadListen_ExitsTwoNamingTheFlag()
    {
        var run = await CliProcess.RunAsync(CliProcess.ClassyDll, ["web", "--listen", "nowhere"], null, TimeSpan.FromMinutes(1));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("classy web: --listen:", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Web_RunningStageGiven_ProxiesToIt()
    {
        await using var model = await GraphPipeStageHost.StartAsync(DelegateStage.Identity("running-model"), cancellationToken: Ct);
        using var child = CliProcess.Start(CliProcess.ClassyDll, ["web", "--listen", $"127.0.0.1:{LoopbackPorts.Free()}", "--model", model.Address.ToString()]);
        try
        {
            var address = await ServingAddressAsync(child, TimeSpan.FromMinutes(1));
            using var http = new HttpClient { BaseAddress = address, Timeout = Limits.Step };

            var response = await RawHttp.PostAsync(http, new Uri(address, "stages/model/"), RawHttp.EncodeMetadataRequest(), Ct);

            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal("running-model", GraphPipeReader.ReadMetadataResponse(response.Body).Name);
            Assert.Contains("stages running at", child.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await child.KillAsync();
        }
    }

    [Fact]
    public async Task Web_InProcessStages_ServeTheDemoModelAndTheDownloaderRefusesLoopbackByDefault()
    {
        using var child = CliProcess.Start(CliProcess.ClassyDll, ["web", "--listen", $"127.0.0.1:{LoopbackPorts.Free()}"]);
        try
        {
            var address = await ServingAddressAsync(child, TimeSpan.FromMinutes(3));
            using var http = new HttpClient { BaseAddress = address, Timeout = Limits.Step };

            var metadata = await RawHttp.PostAsync(http, new Uri(address, "stages/model/"), RawHttp.EncodeMetadataRequest(), Ct);
            using var config = JsonDocument.Parse(await http.GetStringAsync("api/config", Ct));
            var download = await RawHttp.PostAsync(http, new Uri(address, "stages/downloader/"), RawHttp.Encode(new InferRequest
            {
                Inputs = [Tensor.FromStrings($"http://127.0.0.1:{LoopbackPorts.Free()}/x.png")],
            }), Ct);

            Assert.StartsWith("classy-resnet18-fashion", GraphPipeReader.ReadMetadataResponse(metadata.Body).Name, StringComparison.Ordinal);
            Assert.NotEmpty(config.RootElement.GetProperty("samples").EnumerateArray());
            // The page's users name URLs; without --allow-private-networks the downloader keeps the SSRF policy.
            Assert.True((int)download.Status is >= 400 and < 500, download.Status.ToString());
            Assert.Contains("loopback", download.Text, StringComparison.Ordinal);
        }
        finally
        {
            await child.KillAsync();
        }
    }

    private static async Task<Uri> ServingAddressAsync(CliProcess child, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var line = child.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith("classy web: serving on ", StringComparison.Ordinal));
            if (line is not null)
            {
                return new Uri(line["classy web: serving on ".Length..].Split(' ')[0]);
            }

            Assert.False(child.Process.HasExited, $"classy web exited early:\n{child.Stdout}\n{child.Stderr}");
            await Task.Delay(100, Ct);
        }

        throw new TimeoutException($"classy web did not serve within {timeout}:\n{child.Stdout}\n{child.Stderr}");
    }
}
