using Microsoft.ML.OnnxRuntime;

namespace GraphPipe.Onnx;

/// <summary>Execution providers beyond the CPU: whether this ONNX Runtime build has them, and a clear error when not.</summary>
public static class OnnxProviders
{
    public const string CudaProviderName = "CUDAExecutionProvider";

    /// <summary>What a host needs for <c>--execution-provider cuda</c>, for error messages and docs.</summary>
    public const string CudaRequirements =
        "the GPU build of ONNX Runtime (build with -p:OnnxRuntimeGpu=true, which swaps Microsoft.ML.OnnxRuntime for Microsoft.ML.OnnxRuntime.Gpu.Linux 1.32.0), "
        + "an NVIDIA driver, CUDA 12 and cuDNN 9 libraries on the library path; see docs/batching.md (GPU)";

    /// <summary>Whether the loaded ONNX Runtime was built with the CUDA provider (says nothing about a GPU being present).</summary>
    public static bool CudaBuilt()
    {
        try
        {
            return OrtEnv.Instance().GetAvailableProviders().Contains(CudaProviderName, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Appends the CUDA provider, or throws <see cref="NotSupportedException"/> saying what the host lacks.</summary>
    internal static void AppendCuda(SessionOptions options, int deviceId)
    {
        if (!CudaBuilt())
        {
            throw CudaUnavailable($"this ONNX Runtime has no {CudaProviderName} (available: {string.Join(", ", SafeProviders())})", null);
        }

        try
        {
            options.AppendExecutionProvider_CUDA(deviceId);
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw CudaUnavailable(ex.Message, ex);
        }
    }

    /// <summary>Whether a session failure is the provider's (missing CUDA/cuDNN libraries, no device) rather than the model's.</summary>
    internal static bool IsProviderFailure(OnnxRuntimeException ex)
        => ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("cudnn", StringComparison.OrdinalIgnoreCase)
        || ex.Message.Contains("provider", StringComparison.OrdinalIgnoreCase);

    internal static NotSupportedException CudaUnavailable(string why, Exception? inner)
        => new($"execution provider 'cuda' is not available: {why}. It needs {CudaRequirements}", inner);

    private static string[] SafeProviders()
    {
        try
        {
            return OrtEnv.Instance().GetAvailableProviders();
        }
        catch (OnnxRuntimeException)
        {
            return [];
        }
    }
}
