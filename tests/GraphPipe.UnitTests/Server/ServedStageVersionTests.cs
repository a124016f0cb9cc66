using GraphPipe.Pipelines;
using GraphPipe.Reloading;
using GraphPipe.Server;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>A served stage's versions (each shares the parent's admission), its forwarding decision, and what it owns.</summary>
public sealed class ServedStageVersionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private sealed class Idle(string name = "idle") : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new() { Name = name };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>A versioned stage whose versions the test sets.</summary>
    private sealed class Versioned : IVersionedStage
    {
        public Dictionary<string, IInferenceStage> Stages { get; } = new(StringComparer.Ordinal);

        public StageMetadata Metadata { get; } = new() { Name = "m" };

        public IReadOnlyList<string> Versions => [.. Stages.Keys];

        public IInferenceStage? FindVersion(string version) => Stages.GetValueOrDefault(version);

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class Forwarding(bool forwards) : IForwardingStage
    {
        public StageMetadata Metadata { get; } = new() { Name = "fwd" };

        public PipelineRoute? Seen { get; private set; }

        public bool WillForward(PipelineRoute route)
        {
            Seen = route;
            return forwards;
        }

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static ServedStage Served(IInferenceStage stage, int running = 1, int queued = 0)
        => new("m", stage, new GraphPipeServerOptions { MaxConcurrentRequests = running, MaxQueuedRequests = queued }, ["in"], ["out"]);

    [Fact]
    public void ForVersion_KnownVersion_ServedUnderVersionsPathWithParentDefaultsAndLimits()
    {
        var v2 = new Idle("v2");
        var versioned = new Versioned { Stages = { ["2"] = v2 } };
        using var served = Served(versioned, running: 3, queued: 4);

        var version = served.ForVersion("2");

        Assert.NotNull(version);
        Assert.Equal("m/versions/2", version.Name);
        Assert.Same(v2, version.Stage);
        Assert.Equal(["in"], version.DefaultInputs);
        Assert.Equal(["out"], version.DefaultOutputs);
        Assert.Equal((3, 4), (version.MaxRunning, version.QueueLimit));
    }

    [Fact]
    public void ForVersion_UnknownVersion_Null()
    {
        using var served = Served(new Versioned { Stages = { ["2"] = new Idle() } });

        Assert.Null(served.ForVersion("3"));
    }

    [Fact]
    public void ForVersion_StageWithoutVersions_Null()
    {
        using var served = Served(new Idle());

        Assert.Null(served.ForVersion("1"));
    }

    [Fact]
    public void ForVersion_SameVersionTwice_SameServedStage()
    {
        using var served = Served(new Versioned { Stages = { ["2"] = new Idle() } });

        var first = served.ForVersion("2");
        var second = served.ForVersion("2");

        Assert.Same(first, second);
    }

    [Fact]
    public void ForVersion_VersionReloadedWithANewStage_NewServedStageForTheNewStage()
    {
        var versioned = new Versioned { Stages = { ["2"] = new Idle("old") } };
        using var served = Served(versioned);
        var before = served.ForVersion("2");
        var reloaded = new Idle("new");
        versioned.Stages["2"] = reloaded;

        var after = served.ForVersion("2");
        var again = served.ForVersion("2");

        Assert.NotSame(before, after);
        Assert.Same(reloaded, after!.Stage);
        Assert.Same(after, again);
    }

    [Fact]
    public async Task ForVersion_Version_SharesTheParentsAdmission()
    {
        using var served = Served(new Versioned { Stages = { ["2"] = new Idle() } }, running: 1, queued: 0);
        var version = served.ForVersion("2")!;

        using var parentLease = await served.AdmitAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        using var versionLease = await version.AdmitAsync(Ct).AsTask().WaitAsync(Wait, Ct);

        Assert.True(parentLease.IsAcquired);
        Assert.False(versionLease.IsAcquired, "a version had a slot of its own past the stage's one");
    }

    [Fact]
    public async Task Dispose_Version_LeavesTheParentsAdmissionWorking()
    {
        using var served = Served(new Versioned { Stages = { ["2"] = new Idle() } }, running: 2);
        var version = served.ForVersion("2")!;

        version.Dispose();
        using var lease = await served.AdmitAsync(Ct).AsTask().WaitAsync(Wait, Ct);

        Assert.True(lease.IsAcquired);
    }

    [Fact]
    public async Task Dispose_Stage_DisposesItsAdmission()
    {
        var served = Served(new Idle());

        served.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => served.AdmitAsync(Ct).AsTask().WaitAsync(Wait, Ct));
    }

    [Fact]
    public async Task AdmitAsync_Cancelled_QueuedCountBackToZero()
    {
        using var served = Served(new Idle(), running: 1, queued: 1);
        using var first = await served.AdmitAsync(Ct).AsTask().WaitAsync(Wait, Ct);
        using var cancel = new CancellationTokenSource();

        var waiting = served.AdmitAsync(cancel.Token).AsTask();
        var during = served.Queued;
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Wait, Ct));

        Assert.Equal((1, 0), (during, served.Queued));
    }

    [Fact]
    public void Constructor_KeepsNameStageAndDefaults()
    {
        var stage = new Idle();

        using var served = Served(stage);

        Assert.Equal("m", served.Name);
        Assert.Same(stage, served.Stage);
        Assert.Equal(["in"], served.DefaultInputs);
        Assert.Equal(["out"], served.DefaultOutputs);
        Assert.Equal((0, 0), (served.Running, served.Queued));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ForwardsOutputs_ForwardingStage_AsksTheStageWithTheRoute(bool forwards)
    {
        var stage = new Forwarding(forwards);
        using var served = Served(stage);
        var route = PipelineRoute.Parse("http://next.example/");

        var answer = served.ForwardsOutputs(route);

        Assert.Equal(forwards, answer);
        Assert.Same(route, stage.Seen);
    }

    [Fact]
    public void ForwardsOutputs_PlainStage_False()
    {
        using var served = Served(new Idle());

        Assert.False(served.ForwardsOutputs(PipelineRoute.Parse("http://next.example/")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ForwardsOutputs_VersionOfAForwardingStage_AsksTheVersionsStage(bool forwards)
    {
        var stage = new Forwarding(forwards);
        using var served = Served(new Versioned { Stages = { ["1"] = stage } });

        Assert.Equal(forwards, served.ForVersion("1")!.ForwardsOutputs(PipelineRoute.None));
    }
}
