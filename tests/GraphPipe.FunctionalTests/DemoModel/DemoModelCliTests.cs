using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using GraphPipe.Client;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

/// <summary><c>graphpipe serve onnx --demo</c> as a child process (sharing the fixture's cache, so it does not re-assemble).</summary>
public sealed partial class DemoModelTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ServeOnnxDemo_Cli_ServesMetadataAndTopLabelsOfTheDemoModel()
    {
        var ct = TestContext.Current.CancellationToken;
        using var child = StartCli(fixture.CacheDirectory, "serve", "onnx", "--demo", "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
        var output = new StringBuilder();
        var serving = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        child.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                serving.TrySetException(new InvalidOperationException($"graphpipe exited before serving:\n{output}"));
                return;
            }

            lock (output) output.AppendLine(e.Data);
            if (ServingLine().Match(e.Data) is { Success: true } match) serving.TrySetResult(match.Groups[1].Value);
        };
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output) output.AppendLine(e.Data);
            }
        };
        child.Start();
        child.StandardInput.Close();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            var url = await serving.Task.WaitAsync(StartupTimeout, ct);
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, new Uri(url));
            var metadata = await client.GetMetadataAsync(ct).WaitAsync(Limits.Step, ct);

            Assert.Equal(Demo.ModelName, metadata.Name);
            var input = Assert.Single(metadata.Inputs);
            Assert.Equal(Demo.InputName, input.Name);
            Assert.Equal([-1L, 3, 224, 224], input.Shape);
            Assert.Equal(["top_labels", "top_scores", Demo.ProbsOutput, Demo.FeaturesOutput], metadata.Outputs.Select(o => o.Name));
            Assert.Equal([-1L, 5], metadata.Outputs[0].Shape);
            Assert.Equal([-1L, 10], metadata.Outputs[2].Shape);

            // One sample the model gets right (0002, a trouser): the served top label names it.
            var sample = fixture.Samples.Single(s => s.File == "0002-trouser.png");
            var outputs = await client.InferAsync(
                [new(Demo.InputName, Tensor.Create<float>(sample.Input, 1, 3, 224, 224))],
                ["top_labels", "top_scores"],
                cancellationToken: ct).WaitAsync(Limits.Step, ct);
            Assert.Equal([1L, 5], outputs[0].Shape);
            Assert.Equal("Trouser", outputs[0].ToStringArray()[0]);
            var scores = outputs[1].ToArray<float>();
            Assert.True(scores[0] > 0.1f && scores.SequenceEqual(scores.OrderDescending()), string.Join(", ", scores));
        }
        finally
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync(CancellationToken.None).WaitAsync(Limits.Step, CancellationToken.None);
        }
    }

    [Fact]
    public async Task ServeOnnxDemo_WithModel_ExitsOneSayingTheyExcludeEachOther()
    {
        using var child = StartCli(fixture.CacheDirectory, "serve", "onnx", "--demo", "--model", "x.onnx", "--listen", "127.0.0.1:0");
        child.Start();
        child.StandardInput.Close();
        var stderr = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await child.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(StartupTimeout, TestContext.Current.CancellationToken);

        Assert.Equal(1, child.ExitCode);
        Assert.Contains("--model and --demo", await stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^graphpipe: serving 'classy-resnet18-fashion' on (http://127\.0\.0\.1:\d+)$")]
    private static partial Regex ServingLine();

    private static Process StartCli(string cacheDirectory, params string[] args)
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
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GP_", StringComparison.Ordinal)).ToArray())
        {
            info.Environment.Remove(name);
        }

        info.Environment[Demo.CacheDirectoryVariable] = cacheDirectory;
        return new Process { StartInfo = info };
    }

    private static string DotnetHost()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath)) return hostPath;
        if (Environment.ProcessPath is { } processPath && Path.GetFileName(processPath) == exe) return processPath;
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, exe);
        return File.Exists(candidate) ? candidate : exe;
    }
}
