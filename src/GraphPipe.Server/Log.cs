using Microsoft.Extensions.Logging;

namespace GraphPipe.Server;

/// <summary>Every log message of the serving host, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "RequestsRejected", Level = LogLevel.Warning, Message = "Stage {Stage} rejected {Count} requests in the last {Seconds:0} s: {Running} running and a queue of {QueueLimit} full")]
    public static partial void RequestsRejected(ILogger logger, string stage, long count, double seconds, int running, int queueLimit);

    [LoggerMessage(EventId = 2, EventName = "StageFailed", Level = LogLevel.Error, Message = "Stage {Stage} threw")]
    public static partial void StageFailed(ILogger logger, string stage, Exception exception);

    [LoggerMessage(EventId = 3, EventName = "InferenceFailed", Level = LogLevel.Warning, Message = "Stage {Stage} answered {Status}: {Error}")]
    public static partial void InferenceFailed(ILogger logger, string stage, int status, string error);

    [LoggerMessage(EventId = 4, EventName = "ClientGone", Level = LogLevel.Debug, Message = "Client went away before the response")]
    public static partial void ClientGone(ILogger logger);

    [LoggerMessage(EventId = 5, EventName = "BodyTooSlow", Level = LogLevel.Debug, Message = "Request body for {Stage} not received within {Seconds} s")]
    public static partial void BodyTooSlow(ILogger logger, string stage, double seconds);

    [LoggerMessage(EventId = 6, EventName = "Draining", Level = LogLevel.Information, Message = "Stopping: readiness now fails; serving for another {Seconds} s before the listener closes")]
    public static partial void Draining(ILogger logger, double seconds);

    [LoggerMessage(EventId = 7, EventName = "Drained", Level = LogLevel.Information, Message = "Drain delay over: closing the listener, in-flight requests get up to {Seconds} s")]
    public static partial void Drained(ILogger logger, double seconds);

    [LoggerMessage(EventId = 8, EventName = "StageAdded", Level = LogLevel.Information, Message = "Serving stage {Stage}, added while serving, at /{Stage}")]
    public static partial void StageAdded(ILogger logger, string stage);

    [LoggerMessage(EventId = 9, EventName = "StageNameTaken", Level = LogLevel.Warning, Message = "Stage {Name} was added while serving but is not served: its path /{Path} is another stage's")]
    public static partial void StageNameTaken(ILogger logger, string name, string path);
}
