using Microsoft.Extensions.Logging;

namespace GraphPipe.Server.OpenInference;

/// <summary>Every log message of the Open Inference Protocol door, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, EventName = "InferenceFailed", Level = LogLevel.Warning, Message = "Stage {Stage} answered {Status} over OIP: {Error}")]
    public static partial void InferenceFailed(ILogger logger, string stage, int status, string error);

    [LoggerMessage(EventId = 2, EventName = "GrpcListening", Level = LogLevel.Information, Message = "Open Inference Protocol gRPC on {Address}")]
    public static partial void GrpcListening(ILogger logger, string address);
}
