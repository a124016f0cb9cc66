using GraphPipe.Cli;
using GraphPipe.Onnx;

namespace GraphPipe.FunctionalTests;

/// <summary><c>serve onnx</c>'s batching and execution provider flags.</summary>
public sealed partial class CliEndToEndTests
{
    [Fact]
    public async Task ServeOnnx_BatchingOn_ServesInferenceToTheCliClient()
    {
        var dir = Directory.CreateTempSubdirectory("graphpipe-cli-batch-");
        using var server = Start("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", "127.0.0.1:0", "--intra-op-threads", "1",
            "--max-batch-size", "8", "--max-queue-delay", "200", "--preferred-batch-sizes", "4,8");
        try
        {
            var url = await server.ServingUrl.WaitAsync(StartupTimeout, Ct);
            var x = Enumerable.Range(0, 2 * 4).Select(i => i * 0.5f).ToArray();
            var input = Path.Combine(dir.FullName, "x.npy");
            Npy.Write(input, Tensor.Create<float>(x, 2, 4));

            var infer = await RunAsync("infer", url, input, "--out", dir.FullName).WaitAsync(StartupTimeout, Ct);

            Assert.True(infer.ExitCode == 0, infer.Describe());
            Assert.Equal(x.Select(v => (2 * v) + 1), Npy.Read(Path.Combine(dir.FullName, "y.npy")).ToArray<float>());
        }
        finally
        {
            await server.KillAsync();
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("add_mul.onnx", "--max-batch-size", "-1", "graphpipe: --max-batch-size: -1 is negative")]
    [InlineData("add_mul.onnx", "--preferred-batch-sizes", "16", "graphpipe: --preferred-batch-sizes: preferred batch size 16 must be between 1 and the max batch size (8)")]
    [InlineData("add_mul.onnx", "--preferred-batch-sizes", "four", "graphpipe: --preferred-batch-sizes: 'four' is not a row count")]
    [InlineData("add_mul.onnx", "--execution-provider", "tpu", "graphpipe: --execution-provider: 'tpu' is not cpu or cuda")]
    [InlineData("fixed_batch.onnx", "--split-batch", "false", "graphpipe: --max-batch-size: stage 'fixed_batch' cannot batch: ")]
    public async Task ServeOnnx_InvalidBatchingFlag_ExitsTwoWithOneLine(string model, string flag, string value, string expected)
    {
        string[] batching = flag == "--max-batch-size" ? [] : ["--max-batch-size", "8"];
        var run = await RunAsync(["serve", "onnx", "--model", TestModels.Path(model), "--listen", "127.0.0.1:0", "--intra-op-threads", "1", .. batching, flag, value]).WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.StartsWith(expected, Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeOnnx_ExecutionProviderCudaWithoutTheGpuBuild_ExitsOneSayingWhatTheHostNeeds()
    {
        Assert.SkipWhen(OnnxProviders.CudaBuilt(), "This is the GPU build of ONNX Runtime: the missing-CUDA message cannot show [ci-allowed]");

        var run = await RunAsync("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", "127.0.0.1:0", "--execution-provider", "cuda").WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 1, run.Describe());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith("graphpipe: --execution-provider: execution provider 'cuda' is not available", line, StringComparison.Ordinal);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0", line, StringComparison.Ordinal);
    }
}
