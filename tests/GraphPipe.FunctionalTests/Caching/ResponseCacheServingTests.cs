using System.Net;
using GraphPipe.Caching;
using GraphPipe.Server;
using GraphPipe.Stages;
using GraphPipe.Tests;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests.Caching;

/// <summary>
/// The response cache on real serving hosts: answers from the cache are the model's bytes, replicas share
/// hits through a real Redis, and a Redis that is down or hangs costs the cache, never a request.
/// </summary>
[Collection(nameof(ResponseCacheServingTests))]
[CollectionDefinition(nameof(ResponseCacheServingTests), DisableParallelization = true)]
public sealed class ResponseCacheServingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A stage that counts its runs and answers 2x + 1.</summary>
    private static (DelegateStage Stage, Func<int> Runs) Counting()
    {
        var runs = 0;
        var stage = new DelegateStage("model", (request, _) =>
        {
            Interlocked.Increment(ref runs);
            var x = request.Inputs[0].ToArray<float>();
            return ValueTask.FromResult(StageResult.Success([Tensor.Create(x.Select(v => (2 * v) + 1).ToArray(), 1, x.Length)]));
        });
        return (stage, () => Volatile.Read(ref runs));
    }

    private static Task<GraphPipeStageHost> ServeAsync(IInferenceStage stage, IResponseCacheStore store)
        => GraphPipeStageHost.StartAsync(new CachingStage(stage, store), cancellationToken: Ct);

    [Fact]
    public async Task Post_RepeatedRequest_ByteIdenticalResponseFromTheCache()
    {
        using var store = new HybridResponseCacheStore(new ResponseCacheOptions { SizeBytes = 1 << 20 });
        var (stage, runs) = Counting();
        await using var host = await ServeAsync(stage, store);
        using var http = new HttpClient();

        var first = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 2, 3, 4), Ct);
        var second = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 2, 3, 4), Ct);
        var changed = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 2, 3, 5), Ct);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal(HttpStatusCode.OK, changed.Status);
        Assert.NotEqual(first.Body, changed.Body);
        Assert.Equal(2, runs());
    }

    [Fact]
    public async Task Post_TwoReplicasSharingRedis_SecondReplicaAnswersFromTheFirstOnesEntry()
    {
        using var errors = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.l2.errors");
        using var redis = await RedisServer.StartAsync(Ct);
        var options = new ResponseCacheOptions { SizeBytes = 1 << 20, Redis = redis.Configuration, RedisTimeout = TimeSpan.FromSeconds(5) };
        using var storeA = new HybridResponseCacheStore(options);
        using var storeB = new HybridResponseCacheStore(options);
        var (stageA, runsA) = Counting();
        var (stageB, runsB) = Counting();
        await using var a = await ServeAsync(stageA, storeA);
        await using var b = await ServeAsync(stageB, storeB);
        using var http = new HttpClient();

        var fromA = await RawHttp.PostAsync(http, a.Address, RawHttp.EncodeFloats(7, 8, 9, 10), Ct);
        var fromB = await RawHttp.PostAsync(http, b.Address, RawHttp.EncodeFloats(7, 8, 9, 10), Ct);

        Assert.Equal(HttpStatusCode.OK, fromB.Status);
        Assert.Equal(fromA.Body, fromB.Body);
        Assert.Equal(1, runsA());
        Assert.Equal(0, runsB());
        Assert.Equal(0, errors.Total);
    }

    [Theory]
    [InlineData("down")]
    [InlineData("hangs")]
    public async Task Post_RedisDownOrHanging_StageStillServesAndTheFailureIsCounted(string redisState)
    {
        using var errors = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.l2.errors", "reason");
        using var silent = redisState == "hangs" ? new SilentListener() : null;
        var configuration = silent?.Configuration ?? $"127.0.0.1:{LoopbackPorts.Free()}";
        using var store = new HybridResponseCacheStore(new ResponseCacheOptions { SizeBytes = 1 << 20, Redis = configuration, RedisTimeout = TimeSpan.FromMilliseconds(200) });
        var (stage, runs) = Counting();
        await using var host = await ServeAsync(stage, store);
        using var http = new HttpClient();

        var first = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 1, 1, 1), Ct);
        var second = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(1, 1, 1, 1), Ct);
        var other = await RawHttp.PostAsync(http, host.Address, RawHttp.EncodeFloats(2, 2, 2, 2), Ct);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal(first.Body, second.Body);
        // The memory level still serves the repeat; only Redis is bypassed.
        Assert.Equal(2, runs());
        Assert.True(errors.Total > 0, "no shared-cache failure was counted");
    }
}
