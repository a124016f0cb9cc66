using Microsoft.Extensions.Caching.Memory;

namespace GraphPipe.Caching;

/// <summary>The in-memory level: a <see cref="MemoryCache"/> bounded in bytes whose evictions are counted.</summary>
internal sealed class CountingMemoryCache(MemoryCache inner) : IMemoryCache
{
    private static readonly PostEvictionDelegate OnEvicted = static (_, _, reason, _) =>
    {
        // Replaced (the same key written twice) and Removed (asked for) are not evictions. Capacity also counts an
        // entry refused because the level was full (MemoryCache reports both alike).
        if (reason is EvictionReason.Capacity or EvictionReason.Expired or EvictionReason.TokenExpired)
        {
            CacheTelemetry.Evictions.Add(1, new KeyValuePair<string, object?>("reason", reason == EvictionReason.Capacity ? "capacity" : "expired"));
        }
    };

    public ICacheEntry CreateEntry(object key) => inner.CreateEntry(key).RegisterPostEvictionCallback(OnEvicted);

    public bool TryGetValue(object key, out object? value) => inner.TryGetValue(key, out value);

    public void Remove(object key) => inner.Remove(key);

    /// <summary>Bytes held now (the sum of the entries' sizes).</summary>
    public long? CurrentSize => inner.GetCurrentStatistics()?.CurrentEstimatedSize;

    public void Dispose() => inner.Dispose();
}
