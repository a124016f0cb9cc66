using GraphPipe.Caching;
using GraphPipe.Stages;
using GraphPipe.Tests;

namespace GraphPipe.UnitTests;

/// <summary>The response cache in front of a stage, over the real HybridCache store (memory only).</summary>
[Collection(nameof(CacheMetricsCollection))]
public sealed class CachingStageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StageRequest Request(float[] x, params string[] outputs)
        => new(["x"], [Tensor.Create(x)], outputs.Length == 0 ? ["y"] : outputs, string.Empty);

    private static HybridResponseCacheStore Store(long bytes = 1 << 20) => new(new ResponseCacheOptions { SizeBytes = bytes });

    private static byte[] Bytes(StageResult result) => result.Outputs[0].Data.ToArray();

    [Fact]
    public async Task InferAsync_RepeatedRequest_ByteIdenticalFromCacheWithoutRunningTheStage()
    {
        using var store = Store();
        var inner = new CountingStage();
        var cached = new CachingStage(inner, store);
        using var hits = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.hits", "graphpipe.stage");

        byte[] first, second;
        using (var result = await cached.InferAsync(Request([1f, 2f, 3f]), Ct))
        {
            first = Bytes(result);
        }

        using (var result = await cached.InferAsync(Request([1f, 2f, 3f]), Ct))
        {
            second = Bytes(result);
        }

        Assert.Equal(1, inner.Runs);
        Assert.Equal(first, second);
        Assert.Equal([2f, 3f, 4f], Tensor.FromBytes(TensorType.Float32, [3], second).ToArray<float>());
        Assert.Equal(1, hits.For("counting"));
    }

    [Fact]
    public async Task InferAsync_OneInputByteChanged_Misses()
    {
        using var store = Store();
        var inner = new CountingStage();
        var cached = new CachingStage(inner, store);
        var x = new float[] { 1f, 2f, 3f };
        var changed = Tensor.Create(x).Data.ToArray();
        changed[5] ^= 0x01;

        (await cached.InferAsync(Request(x), Ct)).Dispose();
        using var result = await cached.InferAsync(new StageRequest(["x"], [Tensor.FromBytes(TensorType.Float32, [3], changed)], ["y"], string.Empty), Ct);

        Assert.Equal(2, inner.Runs);
        Assert.True(result.IsSuccess);
    }

    [Theory]
    [InlineData("outputs")]
    [InlineData("config")]
    [InlineData("scope")]
    [InlineData("shape")]
    public async Task InferAsync_SameBytesOtherwiseDifferent_Misses(string what)
    {
        using var store = Store();
        var inner = new CountingStage();
        var request = Request([1f, 2f, 3f, 4f]);
        (await new CachingStage(inner, store, "a").InferAsync(request, Ct)).Dispose();

        var other = what switch
        {
            "outputs" => Request([1f, 2f, 3f, 4f], "y", "words"),
            "config" => new StageRequest(["x"], request.Inputs, ["y"], "http://next/"),
            "shape" => new StageRequest(["x"], [Tensor.FromBytes(TensorType.Float32, [2, 2], request.Inputs[0].Data)], ["y"], string.Empty),
            _ => request,
        };
        (await new CachingStage(inner, store, what == "scope" ? "b" : "a").InferAsync(other, Ct)).Dispose();

        Assert.Equal(2, inner.Runs);
    }

    [Fact]
    public async Task InferAsync_StageResultDisposedAfterMiss_CachedCopyUnaffected()
    {
        using var store = Store();
        var inner = new CountingStage();
        var cached = new CachingStage(inner, store);

        var miss = await cached.InferAsync(Request([5f]), Ct);
        var fromStage = Bytes(miss);
        miss.Dispose(); // the stage scribbles over its buffer, as a reused pool buffer would be
        using var hit = await cached.InferAsync(Request([5f]), Ct);

        Assert.Equal(1, inner.Runs);
        Assert.Equal(fromStage, Bytes(hit));
    }

    [Fact]
    public async Task InferAsync_StringAndNumericOutputs_RoundTripThroughTheCache()
    {
        using var store = Store();
        var inner = new CountingStage();
        var cached = new CachingStage(inner, store);

        string[] first;
        using (var miss = await cached.InferAsync(Request([1f, 2f], "words", "y"), Ct))
        {
            first = miss.Outputs[0].ToStringArray();
        }

        using var hit = await cached.InferAsync(Request([1f, 2f], "words", "y"), Ct);

        Assert.Equal(1, inner.Runs);
        Assert.Equal(first, hit.Outputs[0].ToStringArray());
        Assert.Equal([2f, 3f], hit.Outputs[1].ToArray<float>());
    }

    [Fact]
    public async Task InferAsync_StageFails_FailureNotCached()
    {
        using var store = Store();
        var inner = new CountingStage { Fail = true };
        var cached = new CachingStage(inner, store);

        (await cached.InferAsync(Request([1f]), Ct)).Dispose();
        using var second = await cached.InferAsync(Request([1f]), Ct);

        Assert.Equal(2, inner.Runs);
        Assert.False(second.IsSuccess);
    }

    [Fact]
    public async Task InferAsync_MoreThanTheSizeBound_EvictsTheLeastRecentlyUsed()
    {
        // Each entry is about 4 KB of outputs; the memory level holds 64 KB, so 40 of them overflow it.
        const long Limit = 64 * 1024;
        using var store = Store(Limit);
        var inner = new CountingStage();
        var cached = new CachingStage(inner, store);
        using var evictions = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.evictions", "reason");
        float[] Row(int i) => Enumerable.Repeat((float)i, 1024).ToArray();

        for (var i = 0; i < 40; i++)
        {
            (await cached.InferAsync(Request(Row(i)), Ct)).Dispose();
            // MemoryCache compacts in the background once full: let it run between requests, as it would between clients.
            await Task.Delay(5, Ct);
        }

        Assert.True(evictions.For("capacity") > 0, "no entry was evicted");
        Assert.InRange(store.MemoryBytes, 1, Limit);
        var runs = inner.Runs;
        (await cached.InferAsync(Request(Row(0)), Ct)).Dispose();
        Assert.Equal(runs + 1, inner.Runs);

        var recentHits = 0;
        for (var i = 35; i < 40; i++)
        {
            var before = inner.Runs;
            (await cached.InferAsync(Request(Row(i)), Ct)).Dispose();
            recentHits += inner.Runs == before ? 1 : 0;
        }

        Assert.True(recentHits > 0, "none of the most recent entries was kept");
    }
}

[CollectionDefinition(nameof(CacheMetricsCollection), DisableParallelization = true)]
public sealed class CacheMetricsCollection;
