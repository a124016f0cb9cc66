using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Caching;

/// <summary>The response cache: how much memory it may hold, and where its shared level is.</summary>
public sealed class ResponseCacheOptions
{
    /// <summary>Bytes of encoded responses the in-memory level holds; beyond that it drops the least recently used.</summary>
    [Range(1, long.MaxValue)]
    public long SizeBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// A StackExchange.Redis configuration string (e.g. <c>127.0.0.1:6379</c>) for a level shared by replicas;
    /// null for memory only.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>Longest wait for Redis on one call; beyond it the call counts as failed and the request goes on without it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a failed call, how long Redis is left alone (calls skip it) before the next try.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan RedisRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an entry lives (answers never go stale: the key holds the model's fingerprint; this bounds Redis).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan EntryLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Prefix of every Redis key, so several deployments can share one Redis.</summary>
    public string RedisKeyPrefix { get; set; } = "graphpipe:";
}
