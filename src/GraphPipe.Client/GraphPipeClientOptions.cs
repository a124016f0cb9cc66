namespace GraphPipe.Client;

public sealed class GraphPipeClientOptions
{
    /// <summary>Time allowed for one call, sending to last response byte. Default 100 s; <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The budget for the whole request behind the endpoint, sent on every inference call as
    /// <c>GraphPipe-Timeout</c> (see <see cref="GraphPipeTimeoutHeader"/>); each hop works within what is
    /// left and the stage that runs out answers 504 naming itself. Null (default) sends none. The client
    /// does not cancel at the deadline itself: <see cref="Timeout"/> stays its local backstop.
    /// </summary>
    public TimeSpan? Deadline { get; set; }

    /// <summary>Largest response accepted, in bytes. Default 256 MiB.</summary>
    public long MaxResponseBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Clock the <see cref="Deadline"/> is counted on when a retry recomputes what is left (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Sent as <c>Authorization: Bearer KEY</c> with every call, for stages started with <c>--api-key-file</c>; null: none.</summary>
    public string? ApiKey { get; set; }
}
