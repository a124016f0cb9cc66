using Microsoft.Extensions.Logging;

namespace GraphPipe.Onnx;

/// <summary>Every log message of this assembly, with its EventId (one table per assembly).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 100, EventName = "ModelLoaded", Level = LogLevel.Information, Message = "Loaded ONNX model {Path} with {Engines} session(s), {Threads} intra-op thread(s) (0 = auto), execution provider {Provider}, CPUs {Cpus}")]
    public static partial void Loaded(ILogger logger, string path, int engines, int threads, OnnxExecutionProvider provider, string cpus);

    [LoggerMessage(EventId = 101, EventName = "ModelVersionLoaded", Level = LogLevel.Information, Message = "Model {Model} version {Version} loaded from {Path} ({Action})")]
    public static partial void VersionLoaded(ILogger logger, string model, string version, string path, string action);

    [LoggerMessage(EventId = 102, EventName = "ModelVersionRefused", Level = LogLevel.Warning, Message = "Model {Model} version {Version} at {Path} was not loaded ({Reason}): {Error}; the version served before stays")]
    public static partial void VersionRefused(ILogger logger, string model, string version, string path, string reason, string error);

    [LoggerMessage(EventId = 103, EventName = "ModelVersionUnloaded", Level = LogLevel.Information, Message = "Model {Model} version {Version} is gone from disk: unloaded once its requests finish")]
    public static partial void VersionUnloaded(ILogger logger, string model, string version);

    [LoggerMessage(EventId = 104, EventName = "WatchUnavailable", Level = LogLevel.Warning, Message = "Cannot watch {Path} for changes ({Error}); polling every {Seconds:0.#} s instead")]
    public static partial void WatchUnavailable(ILogger logger, string path, string error, double seconds);

    [LoggerMessage(EventId = 105, EventName = "RescanFailed", Level = LogLevel.Warning, Message = "Checking the models for changes failed")]
    public static partial void RescanFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 106, EventName = "ModelAdded", Level = LogLevel.Information, Message = "Model {Model} found at {Path} while serving: version(s) {Versions} loaded")]
    public static partial void ModelAdded(ILogger logger, string model, string path, string versions);
}
