using System.Diagnostics;

namespace GraphPipe.Server;

/// <summary>The host's trace spans: one per stage request, with children for decode and run (forwarding adds its own).</summary>
internal static class ServingTelemetry
{
    public const string SourceName = "GraphPipe.Server";

    public static readonly ActivitySource Source = new(SourceName, typeof(ServingTelemetry).Assembly.GetName().Version?.ToString());
}
