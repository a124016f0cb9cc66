using GraphPipe.Cli;

namespace GraphPipe.FunctionalTests;

/// <summary>The graphpipe CLI as a user runs it: <c>dotnet graphpipe.dll ...</c> as a child process.</summary>
public sealed partial class CliEndToEndTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string CliDll => CliProcess.GraphPipeDll;

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
            Assert.Equal("add_mul", server.ServingName);

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

    /// <summary>Runs the CLI to completion (killing it if the test gives up) and captures its output.</summary>
    private static Task<CliResult> RunAsync(params string[] args) => CliProcess.RunAsync(CliDll, args, environment: null, StartupTimeout);

    private static CliProcess Start(params string[] args) => CliProcess.Start(CliDll, args);
}
