using GraphPipe.Caching;
using GraphPipe.Tests;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging.Abstractions;

namespace GraphPipe.UnitTests;

/// <summary>A shared level that is down or slow costs a call at most the timeout, then nothing while it rests; never an exception.</summary>
[Collection(nameof(CacheMetricsCollection))]
public sealed class ResilientDistributedCacheTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class Backend(Func<Task<byte[]?>> get) : IDistributedCache
    {
        public int Calls;

        public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
        {
            Interlocked.Increment(ref Calls);
            return get();
        }

        public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
        {
            Interlocked.Increment(ref Calls);
            return get();
        }

        public byte[]? Get(string key) => throw new NotSupportedException();
        public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => throw new NotSupportedException();
        public void Refresh(string key) => throw new NotSupportedException();
        public Task RefreshAsync(string key, CancellationToken token = default) => throw new NotSupportedException();
        public void Remove(string key) => throw new NotSupportedException();
        public Task RemoveAsync(string key, CancellationToken token = default) => throw new NotSupportedException();
    }

    private static ResilientDistributedCache Resilient(IDistributedCache backend, LogLines? log = null)
        => new(backend, new ResponseCacheOptions { RedisTimeout = TimeSpan.FromMilliseconds(50), RedisRetryAfter = TimeSpan.FromMinutes(5) }, TimeProvider.System, log ?? (Microsoft.Extensions.Logging.ILogger)NullLogger.Instance);

    [Fact]
    public async Task GetAsync_BackendNeverAnswers_MissCountedAsTimeoutThenBypassed()
    {
        var backend = new Backend(() => new TaskCompletionSource<byte[]?>().Task);
        var log = new LogLines();
        using var cache = Resilient(backend, log);
        using var errors = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.l2.errors", "reason");
        using var bypassed = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.l2.bypassed");

        var first = await cache.GetAsync("k", Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var second = await cache.GetAsync("k", Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await cache.SetAsync("k", [1], new DistributedCacheEntryOptions(), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal(1, backend.Calls);
        Assert.Equal(1, errors.For("timeout"));
        Assert.Equal(2, bypassed.Total);
        Assert.Contains(log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("timeout", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetAsync_BackendThrows_MissCountedAsError()
    {
        var backend = new Backend(() => Task.FromException<byte[]?>(new InvalidOperationException("connection refused")));
        using var cache = Resilient(backend);
        using var errors = new MetricRecorder(CacheTelemetry.MeterName, "graphpipe.cache.l2.errors", "reason");

        var value = await cache.GetAsync("k", Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.Null(value);
        Assert.Equal(1, errors.For("error"));
    }
}
