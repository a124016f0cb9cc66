using System.ComponentModel.DataAnnotations;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

public sealed class BatchingStageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// y = 2x and s = row sums, on float32 [N,M] (M free). The first <see cref="HeldRuns"/> runs wait for
    /// <see cref="Release"/>, so requests pile up in the batch queue behind them. Rows containing NaN are refused.
    /// </summary>
    private sealed class Doubler : IInferenceStage
    {
        private readonly TaskCompletionSource[] _gates = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        private readonly TaskCompletionSource[] _started = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        private int _calls;

        /// <summary>How many runs, from the first, wait for <see cref="Release"/> (at most 4).</summary>
        public int HeldRuns { get; init; } = 1;

        public bool BreakShapes { get; init; }

        public Task Started => _started[0].Task;

        public Task StartedRun(int run) => _started[run].Task;

        public void Release(int run = 0) => _gates[run].TrySetResult();

        public StageMetadata Metadata { get; } = new()
        {
            Name = "doubler",
            Inputs = [new IOMetadata("x", TensorType.Float32, [-1, -1])],
            Outputs = [new IOMetadata("y", TensorType.Float32, [-1, -1]), new IOMetadata("s", TensorType.Float32, [-1])],
        };

        public List<long[]> Runs { get; } = [];

        public List<Owner> Owners { get; } = [];

        public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            var x = request.Inputs[0];
            lock (Runs) Runs.Add(x.Shape.ToArray());
            var call = Interlocked.Increment(ref _calls) - 1;
            if (call < HeldRuns)
            {
                _started[call].TrySetResult();
                await _gates[call].Task.WaitAsync(cancellationToken);
            }

            var values = x.ToArray<float>();
            if (values.Any(float.IsNaN))
            {
                return StageResult.Failure(StageErrorKind.InvalidInput, "input 'x': NaN");
            }

            var rows = (int)x.Shape[0];
            var cols = (int)x.Shape[1];
            var outputs = request.OutputNames.Select(name => name == "y"
                ? Tensor.Create<float>(values.Select(v => v * 2).ToArray(), rows, cols)
                : Tensor.Create<float>(Enumerable.Range(0, rows).Select(r => values.Skip(r * cols).Take(cols).Sum()).ToArray(), BreakShapes ? [1, rows] : [rows])).ToArray();
            var owner = new Owner();
            lock (Owners) Owners.Add(owner);
            return StageResult.Success(outputs, owner);
        }
    }

    private sealed class Owner : IDisposable
    {
        public int Disposed;

        public void Dispose() => Interlocked.Increment(ref Disposed);
    }

    private static StageRequest Request(float[] values, long cols = 2, params string[] outputs)
        => new(["x"], [Tensor.Create<float>(values, values.Length / cols, cols)], outputs.Length == 0 ? ["y", "s"] : outputs, string.Empty);

    private static BatchingStage Batching(IInferenceStage inner, int maxBatch = 8, int delayMicroseconds = 1000, params int[] preferred)
    {
        var options = new BatchingOptions { MaxBatchSize = maxBatch, MaxQueueDelayMicroseconds = delayMicroseconds };
        foreach (var size in preferred) options.PreferredBatchSizes.Add(size);
        return new BatchingStage(inner, options);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task InferAsync_RequestsQueuedBehindARun_MergedIntoOneRunAndSplitPerRequest()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 3);

        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var queued = new[] { Request([3, 4]), Request([5, 6, 7, 8]) }.Select(r => stage.InferAsync(r, Ct).AsTask()).ToArray();
        inner.Release();

        using var a = await first.WaitAsync(Timeout, Ct);
        using var b = await queued[0].WaitAsync(Timeout, Ct);
        using var c = await queued[1].WaitAsync(Timeout, Ct);
        Assert.Equal([[1L, 2], [3, 2]], inner.Runs);
        Assert.Equal([2f, 4], a.Outputs[0].ToArray<float>());
        Assert.Equal([6f, 8], b.Outputs[0].ToArray<float>());
        Assert.Equal([1L, 2], b.Outputs[0].Shape.ToArray());
        Assert.Equal([7f], b.Outputs[1].ToArray<float>());
        Assert.Equal([10f, 12, 14, 16], c.Outputs[0].ToArray<float>());
        Assert.Equal([2L, 2], c.Outputs[0].Shape.ToArray());
        Assert.Equal([11f, 15], c.Outputs[1].ToArray<float>());
    }

    [Fact]
    public async Task InferAsync_LoneRequest_RunsAtOnceWithoutWaitingTheDelay()
    {
        var inner = new Doubler { HeldRuns = 0 };
        using var stage = Batching(inner, delayMicroseconds: 60_000_000);

        for (var i = 0; i < 3; i++)
        {
            // A one-minute delay would trip the timeout if a lone request waited for companions.
            using var result = await stage.InferAsync(Request([i, i]), Ct).AsTask().WaitAsync(Timeout, Ct);
            Assert.Equal([2f * i, 2f * i], result.Outputs[0].ToArray<float>());
        }

        Assert.Equal(3, inner.Runs.Count);
    }

    [Fact]
    public async Task InferAsync_SharedBatchResult_DisposedOnlyAfterEveryRequestsShare()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 3);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var queued = Enumerable.Range(0, 3).Select(i => stage.InferAsync(Request([i, i]), Ct).AsTask()).ToArray();
        inner.Release();
        (await first.WaitAsync(Timeout, Ct)).Dispose();
        var results = await Task.WhenAll(queued).WaitAsync(Timeout, Ct);
        var batchOwner = inner.Owners[1];

        results[0].Dispose();
        results[1].Dispose();
        results[1].Dispose(); // twice: still one share
        Assert.Equal(0, batchOwner.Disposed);
        Assert.Equal([4f, 4], results[2].Outputs[0].ToArray<float>()); // the last share still reads valid memory
        results[2].Dispose();
        Assert.Equal(1, batchOwner.Disposed);
    }

    [Fact]
    public async Task InferAsync_ShapesDifferBeyondDimensionZero_NeverMerged()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 2, delayMicroseconds: 0);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var wide = stage.InferAsync(Request([1, 2, 3], cols: 3), Ct).AsTask();
        var narrow = stage.InferAsync(Request([4, 5]), Ct).AsTask();
        inner.Release();

        using var a = await first.WaitAsync(Timeout, Ct);
        using var w = await wide.WaitAsync(Timeout, Ct);
        using var n = await narrow.WaitAsync(Timeout, Ct);
        Assert.Equal([2f, 4, 6], w.Outputs[0].ToArray<float>());
        Assert.Equal([8f, 10], n.Outputs[0].ToArray<float>());
        Assert.All(inner.Runs, shape => Assert.Equal(1, shape[0]));
        Assert.Equal(3, inner.Runs.Count);
    }

    [Fact]
    public async Task InferAsync_DifferentOutputsAsked_NeverMerged()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 2, delayMicroseconds: 0);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var onlyY = stage.InferAsync(Request([1, 1], 2, "y"), Ct).AsTask();
        var both = stage.InferAsync(Request([2, 2], 2, "y", "s"), Ct).AsTask();
        inner.Release();

        (await first.WaitAsync(Timeout, Ct)).Dispose();
        using var y = await onlyY.WaitAsync(Timeout, Ct);
        using var ys = await both.WaitAsync(Timeout, Ct);
        Assert.Single(y.Outputs);
        Assert.Equal(2, ys.Outputs.Count);
        Assert.Equal(3, inner.Runs.Count);
    }

    [Fact]
    public async Task InferAsync_CancelledWhileQueued_LeavesAndOthersRunWithoutItsRows()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 2, delayMicroseconds: 0);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        using var cts = new CancellationTokenSource();
        var cancelled = stage.InferAsync(Request([100, 100]), cts.Token).AsTask();
        var b = stage.InferAsync(Request([3, 4]), Ct).AsTask();
        var c = stage.InferAsync(Request([5, 6]), Ct).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Timeout, Ct)); // while the run still holds
        inner.Release();

        (await first.WaitAsync(Timeout, Ct)).Dispose();
        using var rb = await b.WaitAsync(Timeout, Ct);
        using var rc = await c.WaitAsync(Timeout, Ct);
        Assert.Equal([6f, 8], rb.Outputs[0].ToArray<float>());
        Assert.Equal([10f, 12], rc.Outputs[0].ToArray<float>());
        Assert.Equal([[1L, 2], [2, 2]], inner.Runs);
    }

    [Fact]
    public async Task InferAsync_CancelledWhileItsBatchRuns_LeavesAndTheOtherGetsItsRows()
    {
        var inner = new Doubler { HeldRuns = 2 };
        using var stage = Batching(inner, maxBatch: 2);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        using var cts = new CancellationTokenSource();
        var leaving = stage.InferAsync(Request([3, 4]), cts.Token).AsTask();
        var staying = stage.InferAsync(Request([5, 6]), Ct).AsTask();
        // The first run finishes; the two queued requests start their merged run, which holds.
        inner.Release();
        (await first.WaitAsync(Timeout, Ct)).Dispose();
        await inner.StartedRun(1).WaitAsync(Timeout, Ct);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving.WaitAsync(Timeout, Ct)); // while the run still holds
        inner.Release(1);
        using var result = await staying.WaitAsync(Timeout, Ct);
        Assert.Equal([10f, 12], result.Outputs[0].ToArray<float>());
        Assert.Equal([2L, 2], inner.Runs[1]);
        result.Dispose();
        Assert.Equal(1, inner.Owners[1].Disposed); // the leaver's share was released for it
    }

    [Fact]
    public async Task InferAsync_OneBadRequestInABatch_OnlyThatOneGetsTheError()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 2);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var bad = stage.InferAsync(Request([float.NaN, 1]), Ct).AsTask();
        var good = stage.InferAsync(Request([3, 4]), Ct).AsTask();
        inner.Release();

        (await first.WaitAsync(Timeout, Ct)).Dispose();
        using var rb = await bad.WaitAsync(Timeout, Ct);
        using var rg = await good.WaitAsync(Timeout, Ct);
        Assert.Equal(StageErrorKind.InvalidInput, rb.Error?.Kind);
        Assert.True(rg.IsSuccess);
        Assert.Equal([6f, 8], rg.Outputs[0].ToArray<float>());
        Assert.Equal([2L, 2], inner.Runs[1]); // merged first, then each alone
        Assert.Equal(4, inner.Runs.Count);
    }

    [Fact]
    public async Task InferAsync_OutputWithoutRows_EachRequestGetsAnErrorNamingStageAndOutput()
    {
        var inner = new Doubler { BreakShapes = true };
        using var stage = Batching(inner, maxBatch: 2);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var queued = new[] { Request([1, 1]), Request([2, 2]) }.Select(r => stage.InferAsync(r, Ct).AsTask()).ToArray();
        inner.Release();

        (await first.WaitAsync(Timeout, Ct)).Dispose();
        foreach (var task in queued)
        {
            using var result = await task.WaitAsync(Timeout, Ct);
            Assert.Equal(StageErrorKind.Internal, result.Error?.Kind);
            Assert.Contains("'doubler'", result.Error!.Message, StringComparison.Ordinal);
            Assert.Contains("'s'", result.Error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, inner.Owners[1].Disposed);
    }

    [Fact]
    public async Task InferAsync_PreferredSizeReached_DispatchesThatManyRows()
    {
        var inner = new Doubler();
        using var stage = Batching(inner, maxBatch: 8, delayMicroseconds: 1000, preferred: 2);
        var first = stage.InferAsync(Request([1, 2]), Ct).AsTask();
        await inner.Started.WaitAsync(Timeout, Ct);
        var queued = Enumerable.Range(0, 3).Select(i => stage.InferAsync(Request([i, i]), Ct).AsTask()).ToArray();
        inner.Release();

        (await first.WaitAsync(Timeout, Ct)).Dispose();
        foreach (var result in await Task.WhenAll(queued).WaitAsync(Timeout, Ct)) result.Dispose();
        Assert.Equal([1L, 2, 1], inner.Runs.Select(r => r[0]));
    }

    [Fact]
    public async Task InferAsync_MoreRowsThanTheLimitOrStringInput_PassedThroughAlone()
    {
        var inner = new Doubler { HeldRuns = 0 };
        using var stage = Batching(inner, maxBatch: 2);

        using var result = await stage.InferAsync(Request([1, 2, 3, 4, 5, 6]), Ct).AsTask().WaitAsync(Timeout, Ct);

        Assert.Equal([3L, 2], inner.Runs.Single());
        Assert.Equal([2f, 4, 6, 8, 10, 12], result.Outputs[0].ToArray<float>());
    }

    [Fact]
    public void Constructor_FixedDimensionZero_ThrowsNamingTheStage()
    {
        var fixedBatch = new DelegateStageStub(new StageMetadata
        {
            Name = "fixed",
            Inputs = [new IOMetadata("x", TensorType.Float32, [1, 3])],
            Outputs = [new IOMetadata("y", TensorType.Float32, [1, 3])],
        });

        var ex = Assert.Throws<ArgumentException>(() => new BatchingStage(fixedBatch, new BatchingOptions()));

        Assert.Contains("'fixed'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PreferredSizeAboveMax_Throws()
    {
        var options = new BatchingOptions { MaxBatchSize = 4 };
        options.PreferredBatchSizes.Add(8);

        var ex = Assert.Throws<ValidationException>(options.Validate);

        Assert.Contains("preferred batch size 8", ex.Message, StringComparison.Ordinal);
    }

    private sealed class DelegateStageStub(StageMetadata metadata) : IInferenceStage
    {
        public StageMetadata Metadata { get; } = metadata;

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
