using GraphPipe.Server;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>A stage's admission: at most MaxConcurrentRequests hold a slot, MaxQueuedRequests wait in order, the rest are refused at once.</summary>
public sealed class ServedStageAdmissionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class Idle : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new() { Name = "idle" };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static ServedStage Stage(int running, int queued)
        => new("gated", new Idle(), new GraphPipeServerOptions { MaxConcurrentRequests = running, MaxQueuedRequests = queued }, [], []);

    [Fact]
    public async Task AdmitAsync_OneRunningOneQueued_SecondWaitsThirdRefusedSecondAdmittedOnRelease()
    {
        using var stage = Stage(running: 1, queued: 1);

        var first = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var second = stage.AdmitAsync(Ct).AsTask();
        Assert.Equal(1, stage.Queued);
        using var third = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(first.IsAcquired);
        Assert.False(second.IsCompleted, "the queued request did not wait");
        Assert.False(third.IsAcquired, "the third request was admitted past a full queue");
        first.Dispose();
        using var admitted = await second.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.True(admitted.IsAcquired);
        Assert.Equal(0, stage.Queued);
    }

    [Fact]
    public async Task AdmitAsync_NoQueue_SecondRefusedAtOnce()
    {
        using var stage = Stage(running: 1, queued: 0);

        using var first = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var second = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(first.IsAcquired);
        Assert.False(second.IsAcquired);
    }

    [Fact]
    public async Task AdmitAsync_TwoRunning_BothAdmittedAtOnce()
    {
        using var stage = Stage(running: 2, queued: 0);

        using var first = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var second = await stage.AdmitAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.True(first.IsAcquired && second.IsAcquired);
        Assert.Equal((2, 0), (stage.MaxRunning, stage.QueueLimit));
    }

    [Fact]
    public void EnterExitRun_CountsRunning()
    {
        using var stage = Stage(running: 2, queued: 3);

        stage.EnterRun();
        stage.EnterRun();
        var during = stage.Running;
        stage.ExitRun();

        Assert.Equal((2, 1), (during, stage.Running));
        Assert.Equal((2, 3, "gated"), (stage.MaxRunning, stage.QueueLimit, stage.Name));
    }
}
