using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using GraphPipe.Cli;

namespace GraphPipe.FunctionalTests;

/// <summary>The graphpipe CLI as a user runs it: <c>dotnet graphpipe.dll ...</c> as a child process.</summary>
public sealed partial class CliEndToEndTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "graphpipe.dll");

    [Fact]
    public void Build_TestOutput_ContainsTheCliAndItsRuntimeConfig()
    {
        Assert.True(File.Exists(CliDll), $"{CliDll} is missing");
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "graphpipe.runtimeconfig.json")), "graphpipe.runtimeconfig.json is missing");
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "graphpipe.deps.json")), "graphpipe.deps.json is missing");
    }

    [Fact]
    public async Task ServeOnnx_AddMul_ServesMetadataAndInferenceToTheCliClient()
    {
        var dir = Directory.CreateTempSubdirectory("graphpipe-cli-");
        using var server = Start("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
        try
        {
            var url = await server.ServingUrl.WaitAsync(StartupTimeout, Ct);

            var metadata = await RunAsync("metadata", url).WaitAsync(StartupTimeout, Ct);
            Assert.True(metadata.ExitCode == 0, metadata.Describe());
            Assert.Contains("name:        add_mul", metadata.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^\s+x\s+float32\s+\[-1,4\]", metadata.Stdout);
            Assert.Matches(@"(?m)^\s+y\s+float32\s+\[-1,4\]", metadata.Stdout);

            var x = Enumerable.Range(0, 3 * 4).Select(i => (i * 0.25f) - 1f).ToArray();
            var input = Path.Combine(dir.FullName, "x.npy");
            Npy.Write(input, Tensor.Create<float>(x, 3, 4));
            var outDir = Path.Combine(dir.FullName, "out");

            var infer = await RunAsync("infer", url, input, "--out", outDir).WaitAsync(StartupTimeout, Ct);
            Assert.True(infer.ExitCode == 0, infer.Describe());
            var yPath = Path.Combine(outDir, "y.npy");
            Assert.Contains(yPath, infer.Stdout, StringComparison.Ordinal);
            var y = Npy.Read(yPath);
            Assert.Equal(TensorType.Float32, y.Type);
            Assert.Equal([3L, 4L], y.Shape);
            Assert.Equal(x.Select(v => (2 * v) + 1), y.ToArray<float>());
        }
        finally
        {
            await server.KillAsync();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ServeOnnx_MissingModelFile_ExitsNonZeroWithOneLineNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"graphpipe-{Guid.NewGuid():N}", "nonexistent.onnx");

        var run = await RunAsync("serve", "onnx", "--model", path, "--listen", "127.0.0.1:0").WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode != 0, run.Describe());
        var line = Assert.Single(run.StderrLines);
        Assert.Contains(path, line, StringComparison.Ordinal);
        Assert.Contains("does not exist", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_UnreachableServer_ExitsOneSayingItCouldNotBeReached()
    {
        var dir = Directory.CreateTempSubdirectory("graphpipe-cli-");
        try
        {
            var input = Path.Combine(dir.FullName, "x.npy");
            Npy.Write(input, Tensor.Create<float>(new float[4], 1, 4));

            var run = await RunAsync("infer", "http://127.0.0.1:1", input).WaitAsync(StartupTimeout, Ct);

            Assert.True(run.ExitCode == 1, run.Describe());
            var line = Assert.Single(run.StderrLines);
            Assert.Contains("could not be reached", line, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1:1", line, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ServeOnnx_UnknownOption_ExitsTwoNamingTheOption()
    {
        var run = await RunAsync("serve", "onnx", "--bogus").WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.StderrLines);
        Assert.Contains("'--bogus'", line, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^graphpipe: serving 'add_mul' on (http://127\.0\.0\.1:\d+)$")]
    private static partial Regex ServingLine();

    private sealed record CliResult(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public string Describe() => $"exit code {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    /// <summary>Runs the CLI to completion (killing it if the test gives up) and captures its output.</summary>
    private static async Task<CliResult> RunAsync(params string[] args)
    {
        using var child = Start(args);
        try
        {
            await child.Process.WaitForExitAsync(Ct).WaitAsync(StartupTimeout, Ct);
            // WaitForExitAsync also waits for the redirected streams to reach end of file.
            return new CliResult(child.Process.ExitCode, child.Stdout, child.Stderr);
        }
        finally
        {
            await child.KillAsync();
        }
    }

    private static CliProcess Start(params string[] args)
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
        info.ArgumentList.Add(CliDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // Every serve option also reads a GP_* variable: keep the caller's environment out of the test.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GP_", StringComparison.Ordinal)).ToArray())
        {
            info.Environment.Remove(name);
        }

        return new CliProcess(info);
    }

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

        // The shared framework lives in <root>/shared/Microsoft.NETCore.App/<version>/.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, exe);
        return File.Exists(candidate) ? candidate : exe;
    }

    /// <summary>A started CLI process whose output is collected line by line.</summary>
    private sealed class CliProcess : IDisposable
    {
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly TaskCompletionSource<string> _servingUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CliProcess(ProcessStartInfo info)
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

        /// <summary>The URL from the "graphpipe: serving 'add_mul' on URL" line.</summary>
        public Task<string> ServingUrl => _servingUrl.Task;

        public string Stdout
        {
            get { lock (_stdout) return _stdout.ToString(); }
        }

        public string Stderr
        {
            get { lock (_stderr) return _stderr.ToString(); }
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
    }
}
