using GraphPipe.Stages;

namespace GraphPipe.Server.Serving;

/// <summary>
/// What running a stage for one request gave: a result to write (owned by the caller, who disposes it
/// after writing), an error to answer with, or nothing when the client went away.
/// </summary>
internal readonly record struct StageOutcome(StageResult? Result, StageError? Error, TimeSpan Queued, TimeSpan Run)
{
    public bool ClientGone => Result is null && Error is null;
}
