using Microsoft.Extensions.Logging;

namespace GraphPipe.Download;

/// <summary>Every log message of this assembly, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 200, EventName = "DownloaderCreated", Level = LogLevel.Information, Message = "Downloader {Name}: {PerRequest} downloads per request, {Global} in all, {TimeoutSeconds} s per URL, up to {MaxBytes} bytes per image, private networks allowed: {AllowPrivate}")]
    public static partial void Created(ILogger logger, string name, int perRequest, int global, double timeoutSeconds, long maxBytes, bool allowPrivate);

    [LoggerMessage(EventId = 201, EventName = "DownloadRefused", Level = LogLevel.Information, Message = "Refused to fetch {Url}: {Reason}")]
    public static partial void Refused(ILogger logger, Uri url, string reason);

    [LoggerMessage(EventId = 202, EventName = "DownloadFailed", Level = LogLevel.Debug, Message = "{Name}: {Message}")]
    public static partial void Failed(ILogger logger, string name, string message);

    [LoggerMessage(EventId = 203, EventName = "Downloaded", Level = LogLevel.Debug, Message = "Downloaded {Count} URL(s), {Bytes} bytes in {Milliseconds:0.#} ms")]
    public static partial void Downloaded(ILogger logger, int count, long bytes, double milliseconds);
}
