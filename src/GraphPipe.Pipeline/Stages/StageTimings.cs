namespace GraphPipe.Stages;

/// <summary>
/// Where one request's time went, filled in by the host and by decorators (e.g. the time spent in the
/// next stage) and reported to the client in the <c>Server-Timing</c> header.
/// </summary>
public sealed class StageTimings
{
    /// <summary>Time spent calling the next stage (server or hybrid sequencing), if any.</summary>
    public TimeSpan? Next { get; set; }

    /// <summary>Time spent answering from the response cache, on a hit.</summary>
    public TimeSpan? Cache { get; set; }
}
