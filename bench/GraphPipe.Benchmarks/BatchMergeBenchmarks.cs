using BenchmarkDotNet.Attributes;
using GraphPipe;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.Benchmarks;

/// <summary>
/// What a merged batch costs besides the model run: stacking N one-image requests (1x3x224x224 float32, 602,112
/// bytes each) into one pooled buffer, and cutting a [N,10] output back into N views, against the floor of one
/// memcpy of the same bytes into a ready buffer (a merged run cannot point ONNX Runtime at N request bodies).
/// </summary>
[MemoryDiagnoser]
public class BatchMergeBenchmarks
{
    private const int ImageBytes = 3 * 224 * 224 * sizeof(float);
    private BatchingStage _owner = null!;
    private List<BatchEntry> _group = null!;
    private Tensor[] _outputs = null!;
    private byte[] _target = null!;
    private readonly System.Buffers.ArrayPool<byte> _pool = System.Buffers.ArrayPool<byte>.Create(1024 * 1024 * 1024, 4);

    [Params(2, 16)]
    public int Requests { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _owner = new BatchingStage(new NoModel(), new BatchingOptions { MaxBatchSize = 16 });
        _group = [.. Enumerable.Range(0, Requests).Select(i => new BatchEntry(_owner,
            new StageRequest(["image"], [Tensor.Create<float>(new float[ImageBytes / sizeof(float)], 1, 3, 224, 224)], ["probs"], string.Empty), 1, 0, CancellationToken.None))];
        _outputs = [Tensor.Create<float>(new float[Requests * 10], Requests, 10)];
        _target = new byte[Requests * ImageBytes];
    }

    [GlobalCleanup]
    public void Cleanup() => _owner.Dispose();

    [Benchmark(Baseline = true)]
    public int Memcpy()
    {
        var offset = 0;
        foreach (var entry in _group)
        {
            var data = entry.Request.Inputs[0].Data.Span;
            data.CopyTo(_target.AsSpan(offset));
            offset += data.Length;
        }

        return offset;
    }

    [Benchmark]
    public int MergeAndSplit()
    {
        var merged = BatchMerger.Merge(_group, Requests, _pool, out var rented);
        var shared = new SharedBatchResult(StageResult.Success(_outputs), _pool, rented, Requests);
        var count = 0;
        for (var i = 0; i < Requests; i++)
        {
            using var share = StageResult.Success(BatchMerger.Slice(_outputs, Requests, i, 1), shared.Lease());
            count += share.Outputs[0].Data.Length;
        }

        return count + merged.Inputs.Count;
    }

    private sealed class NoModel : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new()
        {
            Name = "none",
            Inputs = [new IOMetadata("image", TensorType.Float32, [-1, 3, 224, 224])],
            Outputs = [new IOMetadata("probs", TensorType.Float32, [-1, 10])],
        };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(StageResult.Success(request.Inputs));
    }
}
