using GraphPipe.Stages;

namespace GraphPipe.Onnx;

/// <summary>
/// One request's run, queued for a session thread; the caller awaits <see cref="TaskCompletionSource{T}.Task"/>.
/// Its continuation (writing the response) runs on the session thread, as it ran on the pool thread that ran the
/// model before: handing it to the pool instead cost a lone client 2-3% (a pool thread to wake while ONNX
/// Runtime's intra-op threads still spin after the run). Not so when the model is pinned to CPUs of its own
/// (<paramref name="continueOnPool"/>): there the response is written off the model's cores. A cancelled wait
/// continues where the token fired.
/// </summary>
internal sealed class SessionWork(StageRequest request, long rows, bool continueOnPool, CancellationToken cancellationToken)
    : TaskCompletionSource<StageResult>(continueOnPool ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None)
{
    private const int Queued = 0;
    private const int Running = 1;
    private const int Done = 2;

    private int _state;

    public StageRequest Request { get; } = request;

    public long Rows { get; } = rows;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>A session thread claims the work; false when it was cancelled first.</summary>
    public bool TryStart() => Interlocked.CompareExchange(ref _state, Running, Queued) == Queued;

    /// <summary>
    /// Cancels the work only while it is still queued: once running, the caller waits for the run to stop (the
    /// run's own terminate flag), so the request's buffers are never released under a running model.
    /// </summary>
    public void TryCancelQueued()
    {
        if (Interlocked.CompareExchange(ref _state, Done, Queued) == Queued)
        {
            TrySetCanceled(CancellationToken);
        }
    }

    public void Finish(StageResult result)
    {
        Volatile.Write(ref _state, Done);
        TrySetResult(result);
    }

    public void Fail(Exception exception)
    {
        Volatile.Write(ref _state, Done);
        TrySetException(exception);
    }
}
