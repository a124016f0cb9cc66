using GraphPipe.Onnx;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests;

/// <summary><c>--execution-provider cuda</c>: the model on a GPU where one and the CUDA build are present, a clear refusal where the build lacks CUDA.</summary>
public sealed class OnnxCudaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An NVIDIA driver is loaded (its device node or proc entry exists).</summary>
    private static bool GpuPresent => File.Exists("/dev/nvidiactl") || File.Exists("/proc/driver/nvidia/version");

    [Fact]
    public async Task InferAsync_CudaProvider_SameOutputsAsCpu()
    {
        Assert.SkipUnless(GpuPresent, "No GPU on this machine [ci-allowed]");
        Assert.SkipUnless(OnnxProviders.CudaBuilt(), "A GPU is present but this build has the CPU ONNX Runtime: build with -p:OnnxRuntimeGpu=true to run the GPU tests");
        using var cpu = new OnnxModelStage(new OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), IntraOpThreads = 1 });
        using var gpu = new OnnxModelStage(new OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), ExecutionProvider = OnnxExecutionProvider.Cuda });
        var request = new StageRequest(["x"], [Tensor.Create<float>(Enumerable.Range(0, 16).Select(i => i * 0.5f).ToArray(), 4, 4)], ["y"], string.Empty);

        using var expected = await cpu.InferAsync(request, Ct);
        using var actual = await gpu.InferAsync(request, Ct);

        Assert.Equal(expected.Outputs[0].ToArray<float>(), actual.Outputs[0].ToArray<float>());
    }

    [Fact]
    public void Constructor_CudaProviderWithoutTheGpuBuild_ThrowsSayingWhatTheHostNeeds()
    {
        Assert.SkipWhen(OnnxProviders.CudaBuilt(), "This is the GPU build of ONNX Runtime: the missing-CUDA message cannot show [ci-allowed]");

        var ex = Assert.Throws<NotSupportedException>(() => new OnnxModelStage(new OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), ExecutionProvider = OnnxExecutionProvider.Cuda }));

        Assert.Contains("'cuda' is not available", ex.Message, StringComparison.Ordinal);
        Assert.Contains("-p:OnnxRuntimeGpu=true", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cuDNN 9", ex.Message, StringComparison.Ordinal);
    }
}
