using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace GraphPipe.Caching;

/// <summary>
/// The response cache's store on <see cref="HybridCache"/>: an in-memory level bounded in bytes (the entries'
/// sizes are their payload lengths; the least recently used go first) and, when <see cref="ResponseCacheOptions.Redis"/>
/// is set, Redis as a level shared by replicas. Its services live in a container of their own, so the cache
/// takes nothing from (and adds nothing to) the host's.
/// </summary>
public sealed class HybridResponseCacheStore : IResponseCacheStore, IDisposable
{
    private static readonly HybridCacheEntryOptions ReadOnly = new() { Flags = HybridCacheEntryFlags.DisableUnderlyingData };

    /// <summary>The largest entry, as a share of the memory level; also what one compaction frees.</summary>
    internal const double EntryShare = 0.1;

    private readonly ServiceProvider _services;
    private readonly HybridCache _cache;
    private readonly HybridCacheEntryOptions _write;
    private readonly CountingMemoryCache _memory;

    public HybridResponseCacheStore(ResponseCacheOptions options, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(options, new(options), validateAllProperties: true);
        time ??= TimeProvider.System;
        loggers ??= NullLoggerFactory.Instance;
        var logger = loggers.CreateLogger("GraphPipe.Caching");
        _memory = new CountingMemoryCache(new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.SizeBytes,
            // MemoryCache refuses an entry that does not fit and compacts in the background only when more than
            // (1 - CompactionPercentage) is full, down to that mark, least recently used first. With entries capped at
            // that share of the size (below), every refusal frees room: a least-recently-used cache, give or take one entry.
            CompactionPercentage = EntryShare,
            TrackStatistics = true,
        }, loggers));

        var services = new ServiceCollection();
        services.AddSingleton(loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(time);
        services.AddSingleton<IMemoryCache>(_memory);
        if (options.Redis is { Length: > 0 } redis)
        {
            var redisOptions = new RedisCacheOptions { ConfigurationOptions = RedisConfiguration(redis, options.RedisTimeout), InstanceName = options.RedisKeyPrefix };
            services.AddSingleton<IDistributedCache>(new ResilientDistributedCache(new RedisCache(redisOptions), options, time, logger));
        }

        services.AddHybridCache(o =>
        {
            // Larger answers are not cached: they would push out too much at once (see CompactionPercentage).
            o.MaximumPayloadBytes = (int)Math.Clamp((long)(options.SizeBytes * EntryShare), 1, int.MaxValue);
            o.MaximumKeyLength = 256;
            o.DisableCompression = true;
        });
        _services = services.BuildServiceProvider();
        _cache = _services.GetRequiredService<HybridCache>();
        _write = new HybridCacheEntryOptions { Expiration = options.EntryLifetime, LocalCacheExpiration = options.EntryLifetime };
        Log.CacheCreated(logger, options.SizeBytes, options.Redis is { Length: > 0 } ? "Redis " + RedactedEndpoints(options.Redis) : "off");
    }

    /// <summary>Bytes the in-memory level holds now.</summary>
    public long MemoryBytes => _memory.CurrentSize ?? 0;

    public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
        => _cache.GetOrCreateAsync<byte[]?>(key, static _ => ValueTask.FromResult<byte[]?>(null), ReadOnly, cancellationToken: cancellationToken);

    public ValueTask SetAsync(string key, byte[] value, CancellationToken cancellationToken)
        => _cache.SetAsync(key, value, _write, cancellationToken: cancellationToken);

    public void Dispose() => _services.Dispose();

    private static ConfigurationOptions RedisConfiguration(string configuration, TimeSpan timeout)
    {
        var parsed = ConfigurationOptions.Parse(configuration);
        // Never fail or block a request on Redis: connect in the background and give up on a call quickly.
        parsed.AbortOnConnectFail = false;
        var ms = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        parsed.ConnectTimeout = Math.Max(ms, 1000);
        parsed.AsyncTimeout = ms;
        parsed.SyncTimeout = ms;
        parsed.ClientName ??= "graphpipe";
        return parsed;
    }

    private static string RedactedEndpoints(string configuration)
        => string.Join(",", ConfigurationOptions.Parse(configuration).EndPoints.Select(e => e.ToString()));
}
