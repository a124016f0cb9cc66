using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

public sealed class MemoryBudgetTests
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AcquireAsync_WithinCapacity_CompletesAtOnce()
    {
        var budget = new MemoryBudget(100);

        var lease = budget.AcquireAsync(60, Ct);

        Assert.True(lease.IsCompletedSuccessfully);
        Assert.Equal(40, budget.Available);
        (await lease).Dispose();
        Assert.Equal(100, budget.Available);
    }

    [Fact]
    public async Task AcquireAsync_MoreThanAvailable_WaitsThenProceedsWhenReleased()
    {
        var budget = new MemoryBudget(100);
        var first = await budget.AcquireAsync(70, Ct);

        var second = budget.AcquireAsync(50, Ct).AsTask();
        await Task.Delay(50, Ct);
        Assert.False(second.IsCompleted);

        first.Dispose();
        using var lease = await second.WaitAsync(Step, Ct);
        Assert.Equal(50, budget.Available);
    }

    [Fact]
    public async Task AcquireAsync_CancelledWhileWaiting_LeavesBudgetIntact()
    {
        var budget = new MemoryBudget(100);
        var first = await budget.AcquireAsync(70, Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var waiting = budget.AcquireAsync(50, cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Step, Ct));
        Assert.Equal(30, budget.Available);
        first.Dispose();
        Assert.Equal(100, budget.Available);
        using var all = await budget.AcquireAsync(100, Ct).AsTask().WaitAsync(Step, Ct);
        Assert.Equal(0, budget.Available);
    }

    [Fact]
    public async Task AcquireAsync_CancelledHeadWaiter_UnblocksSmallerOnesBehindIt()
    {
        var budget = new MemoryBudget(100);
        using var first = await budget.AcquireAsync(60, Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var big = budget.AcquireAsync(100, cts.Token).AsTask();
        var small = budget.AcquireAsync(30, Ct).AsTask();
        await Task.Delay(50, Ct);
        Assert.False(small.IsCompleted, "first come, first served: the small one waits behind the big one");

        await cts.CancelAsync();

        using var lease = await small.WaitAsync(Step, Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => big);
        Assert.Equal(10, budget.Available);
    }

    [Fact]
    public void AcquireAsync_MoreThanCapacity_Refused()
    {
        var budget = new MemoryBudget(100);

        // Thrown at the call: more than the capacity could never be granted, so it must not wait.
        void Acquire() => _ = budget.AcquireAsync(101, Ct).AsTask();

        Assert.Throws<ArgumentOutOfRangeException>(Acquire);
        Assert.Equal(100, budget.Available);
    }

    [Fact]
    public async Task Lease_DisposedTwice_ReleasesOnce()
    {
        var budget = new MemoryBudget(100);
        using var other = await budget.AcquireAsync(50, Ct);
        var lease = await budget.AcquireAsync(50, Ct);

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(50, budget.Available);
    }
}
