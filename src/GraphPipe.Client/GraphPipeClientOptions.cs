namespace GraphPipe.Client;

public sealed class GraphPipeClientOptions
{
    /// <summary>Time allowed for one call, sending to last response byte. Default 100 s; <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Largest response accepted, in bytes. Default 256 MiB.</summary>
    public long MaxResponseBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Sent as <c>Authorization: Bearer KEY</c> with every call, for stages started with <c>--api-key-file</c>; null: none.</summary>
    public string? ApiKey { get; set; }
}
