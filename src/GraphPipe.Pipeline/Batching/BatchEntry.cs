using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>
/// A request waiting in a <see cref="BatchingStage"/>'s queue. Its input tensors are views of the caller's
/// buffers, so the caller may leave (cancelled) only while the entry is queued or after its inputs have been
/// copied into the batch: <see cref="State"/> says which.
/// </summary>
internal sealed class BatchEntry(BatchingStage owner, StageRequest request, long rows, long enqueuedAt, CancellationToken cancellationToken)
{
    /// <summary>The batch reads the caller's inputs: a cancelled caller waits until they are copied or the run ends.</summary>
    public const int InputsInUse = 0;

    /// <summary>The inputs are no longer read: a cancelled caller may leave at once.</summary>
    public const int InputsFree = 1;

    private int _state = InputsInUse;

    public BatchingStage Owner { get; } = owner;

    public StageRequest Request { get; } = request;

    public long Rows { get; } = rows;

    public long EnqueuedAt { get; } = enqueuedAt;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public LinkedListNode<BatchEntry>? Node { get; set; }

    public TaskCompletionSource<StageResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int State => Volatile.Read(ref _state);

    /// <summary>The batch copied the inputs; a caller cancelled meanwhile leaves now.</summary>
    public void ReleaseInputs()
    {
        Volatile.Write(ref _state, InputsFree);
        if (CancellationToken.IsCancellationRequested)
        {
            Completion.TrySetCanceled(CancellationToken);
        }
    }

    /// <summary>Claims the caller's inputs again (to rerun the request alone); false when the caller has left.</summary>
    public bool TryClaimInputs()
        => Interlocked.CompareExchange(ref _state, InputsInUse, InputsFree) == InputsFree && !Completion.Task.IsCompleted;

    /// <summary>Hands the request its result; when the caller has left, the result is disposed instead.</summary>
    public void Complete(StageResult result)
    {
        if (!Completion.TrySetResult(result))
        {
            result.Dispose();
        }
    }
}
