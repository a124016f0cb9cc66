using Microsoft.Extensions.Logging;

namespace GraphPipe.Caching;

/// <summary>Every log message of this assembly, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 300, EventName = "SharedCacheDown", Level = LogLevel.Warning, Message = "Shared response cache (Redis) {Operation} failed ({Reason}): {Error}; requests go on without it, next try in {Seconds:0.#} s")]
    public static partial void SharedCacheDown(ILogger logger, string operation, string reason, string error, double seconds);

    [LoggerMessage(EventId = 301, EventName = "CacheCreated", Level = LogLevel.Information, Message = "Response cache: {Bytes} bytes in memory, shared level {Shared}")]
    public static partial void CacheCreated(ILogger logger, long bytes, string shared);
}
