namespace GraphPipe.Caching;

/// <summary>
/// Where <see cref="CachingStage"/> keeps encoded responses, by key. Implementations bound their size and
/// never throw for a backend that is down or slow: such a lookup is a miss and such a write is dropped.
/// </summary>
public interface IResponseCacheStore
{
    /// <summary>The bytes stored under <paramref name="key"/>, or null. The caller owns the returned array.</summary>
    ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> (which the store may keep: the caller gives it up).</summary>
    ValueTask SetAsync(string key, byte[] value, CancellationToken cancellationToken);
}
