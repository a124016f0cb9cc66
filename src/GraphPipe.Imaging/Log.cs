using Microsoft.Extensions.Logging;

namespace GraphPipe.Imaging;

/// <summary>Every log message of this assembly, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Preprocessor '{Name}': {Profile}; libturbojpeg: {TurboJpeg}")]
    public static partial void Created(ILogger logger, string name, string profile, bool turboJpeg);

    [LoggerMessage(2, LogLevel.Debug, "Rejected request: {Reason}")]
    public static partial void Rejected(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Debug, "Request of {Bytes} output bytes waited for the in-flight budget")]
    public static partial void Waited(ILogger logger, long bytes);
}
