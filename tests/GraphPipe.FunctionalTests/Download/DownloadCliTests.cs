using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using GraphPipe.Client;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Download;

/// <summary><c>graphpipe serve download</c> as a user runs it: a child process fetching from a loopback origin.</summary>
public sealed partial class DownloadCliTests : IAsyncLifetime
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private ImageServer _origin = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _origin = await ImageServer.StartAsync();

    public async ValueTask DisposeAsync() => await _origin.DisposeAsync();

    [Fact]
    public async Task ServeDownload_AllowPrivateNetworks_DownloadsAndForwardsToNextStageFromConfig()
    {
        await using var next = await LoopbackServer.StartAsync(new DelegateStage("next", static (request, _) =>
            ValueTask.FromResult(StageResult.Success([Tensor.FromStrings(request.Inputs[0].Strings.Select(s => $"{s.Length}").ToArray())]))));
        using var cli = CliServer.Start("serve", "download", "--allow-private-networks", "--listen", "127.0.0.1:0", "--max-urls", "4");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var client = new GraphPipeClient(http, new Uri(await cli.ServingUrl.WaitAsync(StartupTimeout, Ct)));
            var urls = Tensor.FromStrings(_origin.Url("ok.png"), _origin.Url("img/6"));

            var images = await client.InferAsync(urls, cancellationToken: Ct);
            var forwarded = await client.InferAsync(urls, next.Address.ToString(), Ct);
            var metadata = await client.GetMetadataAsync(Ct);

            Assert.Equal(ImageServer.Png, images.Strings[0].ToArray());
            Assert.Equal(ImageServer.ImageBytes(6), images.Strings[1].ToArray());
            Assert.Equal([$"{ImageServer.Png.Length}", $"{ImageServer.ImageBytes(6).Length}"], forwarded.ToStringArray());
            Assert.Equal("download", metadata.Name);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_DefaultPolicy_RefusesLoopbackImagesAndNextStages()
    {
        await using var next = await LoopbackServer.StartAsync(DelegateStage.Identity("next"));
        using var cli = CliServer.Start("serve", "download", "--listen", "127.0.0.1:0");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var address = new Uri(await cli.ServingUrl.WaitAsync(StartupTimeout, Ct));
            var url = _origin.Url("ok.png");

            var image = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(url)] }), Ct);
            var forward = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Config = next.Address.ToString(), Inputs = [Tensor.FromStrings(url)] }), Ct);

            Assert.Equal(HttpStatusCode.BadRequest, image.Status);
            Assert.Contains($"url 0 ({url}): 127.0.0.1 resolves to loopback address", image.Text, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadRequest, forward.Status);
            Assert.Contains($"next stage {next.Address}", forward.Text, StringComparison.Ordinal);
            Assert.Equal(0, _origin.Requests);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_EnvironmentVariables_SetPolicyAndLimits()
    {
        using var cli = CliServer.Start(new Dictionary<string, string> { ["GP_ALLOW_PRIVATE_NETWORKS"] = "1", ["GP_MAX_URLS"] = "1", ["GP_LISTEN"] = "127.0.0.1:0" }, "serve", "download");
        try
        {
            using var http = new HttpClient { Timeout = Limits.Step };
            var address = new Uri(await cli.ServingUrl.WaitAsync(StartupTimeout, Ct));

            var one = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(_origin.Url("ok.png"))] }), Ct);
            var two = await RawHttp.PostAsync(http, address, RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(_origin.Url("ok.png"), _origin.Url("img/1"))] }), Ct);

            Assert.Equal(HttpStatusCode.OK, one.Status);
            Assert.Equal(HttpStatusCode.BadRequest, two.Status);
            Assert.Contains("has 2 URLs; at most 1 are allowed per request", two.Text, StringComparison.Ordinal);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [Fact]
    public async Task ServeDownload_InvalidLimit_ExitsOneNamingTheFlag()
    {
        using var cli = CliServer.Start("serve", "download", "--max-concurrency-per-request", "0", "--listen", "127.0.0.1:0");
        try
        {
            await cli.Process.WaitForExitAsync(Ct).WaitAsync(StartupTimeout, Ct);

            Assert.Equal(1, cli.Process.ExitCode);
            Assert.StartsWith("graphpipe: --max-concurrency-per-request:", cli.Stderr.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            await cli.KillAsync();
        }
    }

    [GeneratedRegex(@"^graphpipe: serving 'download' on (http://127\.0\.0\.1:\d+)$")]
    private static partial Regex ServingLine();

    /// <summary>A started <c>graphpipe</c> child process whose output is collected line by line.</summary>
    private sealed class CliServer : IDisposable
    {
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly TaskCompletionSource<string> _servingUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private CliServer(ProcessStartInfo info)
        {
            Process = new Process { StartInfo = info };
            Process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _servingUrl.TrySetException(new InvalidOperationException($"graphpipe closed its output before serving.\nstdout:\n{Stdout}\nstderr:\n{Stderr}"));
                    return;
                }

                lock (_stdout) _stdout.AppendLine(e.Data);
                var match = ServingLine().Match(e.Data);
                if (match.Success) _servingUrl.TrySetResult(match.Groups[1].Value);
            };
            Process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (_stderr) _stderr.AppendLine(e.Data);
                }
            };
            Process.Start();
            Process.StandardInput.Close();
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public Process Process { get; }

        public Task<string> ServingUrl => _servingUrl.Task;

        public string Stdout
        {
            get { lock (_stdout) return _stdout.ToString(); }
        }

        public string Stderr
        {
            get { lock (_stderr) return _stderr.ToString(); }
        }

        public static CliServer Start(params string[] args) => Start(new Dictionary<string, string>(), args);

        public static CliServer Start(Dictionary<string, string> environment, params string[] args)
        {
            var info = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
                StandardOutputEncoding = Encoding.UTF8,
                StandardErrorEncoding = Encoding.UTF8,
            };
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "graphpipe.dll"));
            foreach (var arg in args) info.ArgumentList.Add(arg);
            // Every serve option also reads a GP_* variable: keep the caller's environment out of the test.
            foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GP_", StringComparison.Ordinal)).ToArray())
            {
                info.Environment.Remove(name);
            }

            foreach (var (name, value) in environment)
            {
                info.Environment[name] = value;
            }

            return new CliServer(info);
        }

        public async Task KillAsync()
        {
            try
            {
                if (!Process.HasExited)
                {
                    Process.Kill(entireProcessTree: true);
                }

                await Process.WaitForExitAsync(CancellationToken.None).WaitAsync(Limits.Step, CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Never started or already gone.
            }
        }

        public void Dispose() => Process.Dispose();

        /// <summary>The dotnet host running this test (so the child uses the same runtime), else the one on PATH.</summary>
        private static string DotnetHost()
        {
            var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            {
                return hostPath;
            }

            if (Environment.ProcessPath is { } processPath && Path.GetFileName(processPath) == exe)
            {
                return processPath;
            }

            var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
            var candidate = Path.Combine(root, exe);
            return File.Exists(candidate) ? candidate : exe;
        }
    }
}
