using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Caching;

/// <summary>
/// The shared level (Redis) with a time limit on every call and a pause after a failure: a Redis that is
/// down or slow costs a request at most one <see cref="ResponseCacheOptions.RedisTimeout"/>, and then
/// nothing for <see cref="ResponseCacheOptions.RedisRetryAfter"/>; a failed read is a miss, a failed write
/// is dropped. Each failure is counted (<c>graphpipe.cache.l2.errors</c>) and logged once per pause.
/// </summary>
internal sealed class ResilientDistributedCache(IDistributedCache inner, ResponseCacheOptions options, TimeProvider time, ILogger logger) : IDistributedCache, IDisposable
{
    private long _pausedUntil;

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default)
        => CallAsync("get", (inner, key), static (s, t) => s.inner.GetAsync(s.key, t), token);

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions entryOptions, CancellationToken token = default)
        => CallAsync("set", (inner, key, value, entryOptions), static (s, t) => Completed(s.inner.SetAsync(s.key, s.value, s.entryOptions, t)), token);

    public Task RefreshAsync(string key, CancellationToken token = default)
        => CallAsync("refresh", (inner, key), static (s, t) => Completed(s.inner.RefreshAsync(s.key, t)), token);

    public Task RemoveAsync(string key, CancellationToken token = default)
        => CallAsync("remove", (inner, key), static (s, t) => Completed(s.inner.RemoveAsync(s.key, t)), token);

    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    public void Set(string key, byte[] value, DistributedCacheEntryOptions entryOptions) => SetAsync(key, value, entryOptions).GetAwaiter().GetResult();

    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    public void Dispose() => (inner as IDisposable)?.Dispose();

    private static async Task<byte[]?> Completed(Task task)
    {
        await task.ConfigureAwait(false);
        return null;
    }

    private async Task<byte[]?> CallAsync<TState>(string operation, TState state, Func<TState, CancellationToken, Task<byte[]?>> start, CancellationToken token)
    {
        if (time.GetTimestamp() < Volatile.Read(ref _pausedUntil))
        {
            CacheTelemetry.L2Bypassed.Add(1, new KeyValuePair<string, object?>("operation", operation));
            return null;
        }

        Task<byte[]?> call;
        try
        {
            call = start(state, token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Failed(operation, "error", ex.Message);
            return null;
        }

        try
        {
            return await call.WaitAsync(options.RedisTimeout, time, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Observe(call);
            Failed(operation, "timeout", $"no answer within {options.RedisTimeout.TotalMilliseconds:0} ms");
            return null;
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            Observe(call);
            throw;
        }
        catch (Exception ex)
        {
            Failed(operation, "error", ex.Message);
            return null;
        }
    }

    private void Failed(string operation, string reason, string error)
    {
        CacheTelemetry.L2Errors.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("operation", operation));
        var until = time.GetTimestamp() + (long)(options.RedisRetryAfter.TotalSeconds * time.TimestampFrequency);
        var previous = Interlocked.Exchange(ref _pausedUntil, until);
        if (previous < time.GetTimestamp())
        {
            Log.SharedCacheDown(logger, operation, reason, error, options.RedisRetryAfter.TotalSeconds);
        }
    }

    /// <summary>A call left behind still completes (or fails) later: observe it so its failure is not unobserved.</summary>
    private static void Observe(Task call)
        => _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
