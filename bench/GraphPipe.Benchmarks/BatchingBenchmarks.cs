using BenchmarkDotNet.Attributes;
using GraphPipe;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.Benchmarks;

/// <summary>
/// What dynamic batching costs a lone client: one request through <see cref="BatchingStage"/> (its
/// no-companion fast path) against the same request to the stage directly. The stage answers at once, so the
/// difference is the batcher's own cost per request, to set against a model run of milliseconds.
/// </summary>
[MemoryDiagnoser]
public class BatchingBenchmarks
{
    private Instant _inner = null!;
    private BatchingStage _batching = null!;
    private StageRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _inner = new Instant();
        _batching = new BatchingStage(_inner, new BatchingOptions { MaxBatchSize = 16, MaxQueueDelayMicroseconds = 500 });
        _request = new StageRequest(["image"], [Tensor.Create<float>(new float[3 * 224 * 224], 1, 3, 224, 224)], ["probs"], string.Empty);
    }

    [GlobalCleanup]
    public void Cleanup() => _batching.Dispose();

    [Benchmark(Baseline = true)]
    public async Task<int> Direct()
    {
        using var result = await _inner.InferAsync(_request, CancellationToken.None);
        return result.Outputs.Count;
    }

    [Benchmark]
    public async Task<int> ThroughBatching()
    {
        using var result = await _batching.InferAsync(_request, CancellationToken.None);
        return result.Outputs.Count;
    }

    private sealed class Instant : IInferenceStage
    {
        private readonly Tensor[] _outputs = [Tensor.Create<float>(new float[10], 1, 10)];

        public StageMetadata Metadata { get; } = new()
        {
            Name = "instant",
            Inputs = [new IOMetadata("image", TensorType.Float32, [-1, 3, 224, 224])],
            Outputs = [new IOMetadata("probs", TensorType.Float32, [-1, 10])],
        };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => ValueTask.FromResult(StageResult.Success(_outputs));
    }
}
