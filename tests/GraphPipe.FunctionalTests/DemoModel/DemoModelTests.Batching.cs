using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Stages;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

public sealed partial class DemoModelTests
{
    [Fact]
    public async Task BatchingStage_EightSamplesMergedIntoBatches_EqualTheUnbatchedOutputsRowByRow()
    {
        using var model = new OnnxModelStage(new OnnxModelOptions { ModelPath = fixture.Files.ModelPath, IntraOpThreads = 1 });
        var counted = new HeldFirstRun(model);
        using var batching = new BatchingStage(counted, new BatchingOptions { MaxBatchSize = 4, MaxQueueDelayMicroseconds = 1000 });
        var samples = fixture.Samples.Take(8).ToArray();
        string[] outputs = [Demo.ProbsOutput, Demo.FeaturesOutput];

        // The first request runs alone and holds, so the other seven queue and are merged behind it.
        var tasks = new List<Task<StageResult>> { batching.InferAsync(Request(samples[0], outputs), Ct).AsTask() };
        await counted.FirstStarted.Task.WaitAsync(Limits.Step, Ct);
        tasks.AddRange(samples.Skip(1).Select(s => batching.InferAsync(Request(s, outputs), Ct).AsTask()));
        counted.Release.TrySetResult();
        var batched = await Task.WhenAll(tasks).WaitAsync(Limits.Step, Ct);

        Assert.Contains(4L, counted.Rows); // at least one full batch of 4 rows ran
        Assert.Equal(8, counted.Rows.Sum());
        for (var i = 0; i < samples.Length; i++)
        {
            using var alone = await model.InferAsync(Request(samples[i], outputs), Ct);
            using var result = batched[i];
            Assert.True(result.IsSuccess, result.Error?.Message);
            for (var o = 0; o < outputs.Length; o++)
            {
                Assert.Equal(alone.Outputs[o].Shape, result.Outputs[o].Shape);
                var expected = alone.Outputs[o].ToArray<float>();
                var actual = result.Outputs[o].ToArray<float>();
                for (var j = 0; j < expected.Length; j++)
                {
                    // Batched kernels may sum in another order: equal to float rounding, not bit for bit.
                    Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[j])),
                        $"{samples[i].File} {outputs[o]}[{j}]: batched {actual[j]} vs alone {expected[j]}");
                }
            }
        }
    }

    private static StageRequest Request(FashionSample sample, string[] outputs)
        => new([Demo.InputName], [Tensor.Create<float>(sample.Input, 1, 3, Demo.ImageSize, Demo.ImageSize)], outputs, string.Empty);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Records the rows of each run; the first run waits for <see cref="Release"/>.</summary>
    private sealed class HeldFirstRun(IInferenceStage inner) : IInferenceStage
    {
        private int _runs;

        public TaskCompletionSource FirstStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<long> Rows { get; } = [];

        public StageMetadata Metadata => inner.Metadata;

        public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            lock (Rows) Rows.Add(request.Inputs[0].Shape[0]);
            if (Interlocked.Increment(ref _runs) == 1)
            {
                FirstStarted.TrySetResult();
                await Release.Task.WaitAsync(cancellationToken);
            }

            return await inner.InferAsync(request, cancellationToken);
        }
    }
}
