namespace GraphPipe.Client;

public sealed class GraphPipeClientOptions
{
    /// <summary>Time allowed for one call, sending to last response byte. Default 100 s; <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>Largest response accepted, in bytes. Default 256 MiB.</summary>
    public long MaxResponseBytes { get; set; } = 256L * 1024 * 1024;
}
