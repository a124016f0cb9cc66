using GraphPipe.Reloading;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>Hot swap: requests in flight finish on the stage they started on, which goes only after them.</summary>
public sealed class SwappableStageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class Gated(string answer) : IInferenceStage
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StageMetadata Metadata { get; } = new() { Name = answer };

        public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Gate.Task.WaitAsync(cancellationToken);
            return StageResult.Success([Tensor.FromStrings(answer)]);
        }
    }

    private sealed class Owner : IDisposable
    {
        public int Disposed;

        public void Dispose() => Interlocked.Increment(ref Disposed);
    }

    private static StageRequest Request() => new([], [], ["out"], string.Empty);

    [Fact]
    public async Task Swap_RequestInFlight_FinishesOnOldStageWhichIsDisposedOnlyAfterItsResult()
    {
        var old = new Gated("old");
        var oldOwner = new Owner();
        var oldShared = new SharedStage(old, oldOwner);
        using var swappable = new SwappableStage(oldShared);
        oldShared.Release();
        var next = new Gated("new");
        next.Gate.SetResult();
        var nextShared = new SharedStage(next, new Owner());

        var inFlight = swappable.InferAsync(Request(), Ct).AsTask();
        await old.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        swappable.Swap(nextShared);
        nextShared.Release();

        using (var after = await swappable.InferAsync(Request(), Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct))
        {
            Assert.Equal(["new"], after.Outputs[0].ToStringArray());
        }

        Assert.Equal(0, oldOwner.Disposed);
        old.Gate.SetResult();
        var result = await inFlight.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(["old"], result.Outputs[0].ToStringArray());
        Assert.Equal(0, oldOwner.Disposed);
        result.Dispose();
        Assert.Equal(1, oldOwner.Disposed);
        Assert.Equal("new", swappable.Metadata.Name);
    }

    [Fact]
    public void Dispose_NoRequestInFlight_DisposesTheStageOnce()
    {
        var owner = new Owner();
        var shared = new SharedStage(new Gated("x"), owner);
        var swappable = new SwappableStage(shared);
        shared.Release();

        swappable.Dispose();
        swappable.Dispose();

        Assert.Equal(1, owner.Disposed);
        Assert.True(shared.IsDisposed);
        Assert.False(shared.TryAcquire());
    }
}
