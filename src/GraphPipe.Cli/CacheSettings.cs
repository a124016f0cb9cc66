using System.CommandLine;
using GraphPipe.Caching;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Cli;

/// <summary>The response cache's flags (<c>--cache-size</c>, <c>--cache-redis</c>), for the serve commands whose answers depend only on the request.</summary>
internal sealed class CacheSettings
{
    public readonly Option<string?> Size = CliOptions.EnvString("--cache-size", "GP_CACHE_SIZE", "Answer repeated requests from memory, holding up to this much (e.g. 256MB; K/M/G are powers of 1024); off when unset", null);
    public readonly Option<string?> Redis = CliOptions.EnvString("--cache-redis", "GP_CACHE_REDIS", "Redis shared by replicas as a second cache level, e.g. 127.0.0.1:6379 (StackExchange.Redis configuration); needs --cache-size", null);
    public readonly Option<TimeSpan> RedisTimeout = CliOptions.Duration("--cache-redis-timeout", "GP_CACHE_REDIS_TIMEOUT", "Longest wait for Redis per call; beyond it the request goes on without the shared level", TimeSpan.FromMilliseconds(250));

    public void AddTo(Command command)
    {
        command.Add(Size);
        command.Add(Redis);
        command.Add(RedisTimeout);
    }

    /// <summary>The cache's options, or null when <c>--cache-size</c> is not set; flag errors are usage errors.</summary>
    public ResponseCacheOptions? Options(ParseResult parse)
    {
        var size = parse.GetValue(Size);
        var redis = parse.GetValue(Redis);
        if (string.IsNullOrWhiteSpace(size))
        {
            return redis is { Length: > 0 } ? throw CliException.Usage("--cache-redis needs --cache-size (the in-memory level in front of it)") : null;
        }

        if (!ByteSize.TryParse(size, out var bytes) || bytes <= 0)
        {
            throw CliException.Usage($"--cache-size: '{size}' is not a size (e.g. 256MB, 1GiB, 65536)");
        }

        var timeout = parse.GetValue(RedisTimeout);
        if (timeout <= TimeSpan.Zero)
        {
            throw CliException.Usage("--cache-redis-timeout must be above zero");
        }

        return new ResponseCacheOptions { SizeBytes = bytes, Redis = string.IsNullOrWhiteSpace(redis) ? null : redis, RedisTimeout = timeout };
    }

    /// <summary>Registers the cache's store in the host (disposed with it) when the flags turn it on.</summary>
    public void Register(ParseResult parse, IServiceCollection services)
    {
        if (Options(parse) is { } options)
        {
            services.AddSingleton<IResponseCacheStore>(sp => new HybridResponseCacheStore(options, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        }
    }

    /// <summary><paramref name="stage"/> behind the host's cache, if it has one.</summary>
    public static IInferenceStage Wrap(IServiceProvider services, IInferenceStage stage, string? scope = null)
        => services.GetService<IResponseCacheStore>() is { } store ? new CachingStage(stage, store, scope) : stage;
}
