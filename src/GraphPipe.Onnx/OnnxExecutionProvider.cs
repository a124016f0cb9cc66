namespace GraphPipe.Onnx;

/// <summary>Where ONNX Runtime runs the model.</summary>
public enum OnnxExecutionProvider
{
    /// <summary>ONNX Runtime's default CPU provider (the package this project ships with).</summary>
    Cpu,

    /// <summary>
    /// NVIDIA GPUs through ONNX Runtime's CUDA provider. Needs the GPU build of ONNX Runtime (build with
    /// <c>-p:OnnxRuntimeGpu=true</c>: Microsoft.ML.OnnxRuntime.Gpu.Linux) and CUDA 12 + cuDNN 9 on the host.
    /// </summary>
    Cuda,
}
