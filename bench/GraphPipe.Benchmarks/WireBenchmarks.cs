using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using GraphPipe;
using GraphPipe.Wire;

namespace GraphPipe.Benchmarks;

/// <summary>
/// Encode and decode of an image-classification request (1x3x224x224 float32 = 602,112 bytes of tensor
/// data) against the floor: a plain copy of the same bytes. Decode is zero-copy, so it should not grow
/// with the tensor (compare the 1x3x32x32 row).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class WireBenchmarks
{
    private byte[] _source = [];
    private byte[] _destination = [];
    private InferRequest _request = null!;
    private byte[] _encoded = [];
    private GraphPipeWriter _writer = null!;

    [Params(32, 224)]
    public int ImageSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var values = new float[3 * ImageSize * ImageSize];
        var random = new Random(42);
        for (var i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble();
        var tensor = Tensor.Create<float>(values, 1, 3, ImageSize, ImageSize);
        _source = tensor.Data.ToArray();
        _destination = new byte[_source.Length];
        _request = new InferRequest { Config = "", InputNames = ["input"], Inputs = [tensor], OutputNames = ["probs"] };
        _writer = new GraphPipeWriter();
        _encoded = _writer.WriteInferRequest(_request).ToArray();
    }

    [Benchmark(Baseline = true, Description = "memcpy of the tensor bytes")]
    public void Memcpy() => _source.AsSpan().CopyTo(_destination);

    [Benchmark(Description = "encode request (reused writer)")]
    public int Encode() => _writer.WriteInferRequest(_request).Length;

    [Benchmark(Description = "decode request (zero-copy)")]
    public int Decode() => GraphPipeReader.ReadRequest(_encoded).Infer!.Inputs[0].Data.Length;
}
