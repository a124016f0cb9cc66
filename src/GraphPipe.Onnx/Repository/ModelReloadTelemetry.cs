using System.Diagnostics.Metrics;

namespace GraphPipe.Onnx.Repository;

/// <summary>Metrics of model loading and hot reload (meter <c>GraphPipe.Models</c>).</summary>
public static class ModelReloadTelemetry
{
    public const string MeterName = "GraphPipe.Models";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Loads of a model version by outcome (<c>loaded</c>, <c>failed</c>, <c>unloaded</c>); a failure has a <c>reason</c> (<c>invalid_model</c>, <c>io</c>, <c>labels</c>).</summary>
    public static readonly Counter<long> Reloads = Meter.CreateCounter<long>("graphpipe.model.reloads", "{load}", "Model versions loaded, swapped in, unloaded, or refused (with the reason) while serving");

    internal static void Record(string model, string version, string outcome, string? reason = null)
        => Reloads.Add(1,
            new KeyValuePair<string, object?>("graphpipe.model", model),
            new KeyValuePair<string, object?>("graphpipe.model.version", version),
            new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("reason", reason ?? string.Empty));
}
