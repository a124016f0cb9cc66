using Microsoft.Extensions.Logging;

namespace GraphPipe.Client;

/// <summary>Every log message of the client assembly, with its EventId (one table per assembly; this one 400-499).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 400, EventName = "EndpointEjected", Level = LogLevel.Warning, Message = "Replica {Endpoint} of {Group} ejected for {Seconds} s after {Failures} consecutive failures (no response or 5xx)")]
    public static partial void EndpointEjected(ILogger logger, string endpoint, string group, double seconds, int failures);

    [LoggerMessage(EventId = 401, EventName = "EndpointRestored", Level = LogLevel.Information, Message = "Replica {Endpoint} of {Group} answered its probe: back in rotation")]
    public static partial void EndpointRestored(ILogger logger, string endpoint, string group);

    [LoggerMessage(EventId = 402, EventName = "Retrying", Level = LogLevel.Debug, Message = "Retrying a request for {Group} on another replica ({Endpoint} failed); {Remaining} ms of its budget left")]
    public static partial void Retrying(ILogger logger, string group, string endpoint, double remaining);
}
