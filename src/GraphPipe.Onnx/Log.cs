using Microsoft.Extensions.Logging;

namespace GraphPipe.Onnx;

/// <summary>Every log message of this assembly, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, EventName = "ModelLoaded", Level = LogLevel.Information, Message = "Loaded ONNX model {Path} with {Engines} session(s), {Threads} intra-op thread(s) (0 = auto), execution provider {Provider}")]
    public static partial void Loaded(ILogger logger, string path, int engines, int threads, OnnxExecutionProvider provider);
}
