using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>
/// Dynamic batching: merges concurrent requests to a stage into one run of up to
/// <see cref="BatchingOptions.MaxBatchSize"/> rows, then gives each request its own rows of the outputs
/// (views of the batch's buffers, released when the last request's result is disposed).
/// </summary>
/// <remarks>
/// <para>Only requests that agree on everything but dimension 0 (input names, types, shapes beyond
/// dimension 0, outputs asked, config) share a run; others wait for a later batch. Requests that cannot
/// batch at all (string or scalar inputs, inputs that do not fit the metadata, more rows than the limit) go
/// straight to the inner stage.</para>
/// <para>When to run: at once when the batch is full or reaches a preferred size; otherwise as soon as every
/// request expected is here (as many as were in the stage since the last dispatch: a lone client runs at once,
/// sixteen clients are waited for), or after <see cref="BatchingOptions.MaxQueueDelayMicroseconds"/>.</para>
/// <para>A request cancelled while queued leaves the queue; one cancelled while its batch runs leaves once its
/// inputs have been copied, and its share of the outputs is disposed. Neither affects the others.</para>
/// </remarks>
public sealed class BatchingStage : IInferenceStage, IDisposable
{
    private readonly IInferenceStage _inner;
    private readonly int _maxRows;
    private readonly int[] _preferred;
    private readonly int _maxBatches;
    private readonly long _delay;
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly KeyValuePair<string, object?> _stageTag;
    private readonly Lock _gate = new();

    /// <summary>
    /// The merged inputs' buffers (up to tens of MB). Not <see cref="System.Buffers.ArrayPool{T}.Shared"/>: it keeps a
    /// returned array in the returning thread's slot first, and a batch's buffers are returned by whichever thread
    /// writes its last response, so the next batch, merged on another thread, missed them and allocated anew.
    /// </summary>
    private readonly System.Buffers.ArrayPool<byte> _buffers;
    private readonly LinkedList<BatchEntry> _queue = new();
    private int _runningBatches;
    private int _runningRequests;
    private int _inStage;
    private int _peak;
    private bool _timerArmed;
    private bool _disposed;

    public BatchingStage(IInferenceStage inner, BatchingOptions options, TimeProvider? timeProvider = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (Unbatchable(inner.Metadata) is { } why)
        {
            throw new ArgumentException(why, nameof(inner));
        }

        _maxRows = options.MaxBatchSize;
        _preferred = [.. options.PreferredBatchSizes.Distinct().Order()];
        _maxBatches = options.MaxConcurrentBatches;
        // Per size class: the batches running, and as many whose responses are still being written.
        _buffers = System.Buffers.ArrayPool<byte>.Create(1024 * 1024 * 1024, 2 * (_maxBatches + 1));
        _time = timeProvider ?? TimeProvider.System;
        _delay = (long)(options.MaxQueueDelayMicroseconds * (_time.TimestampFrequency / 1e6));
        _stageTag = new(BatchingTelemetry.StageTag, inner.Metadata.Name);
        _timer = _time.CreateTimer(static s => ((BatchingStage)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public StageMetadata Metadata => _inner.Metadata;

    /// <summary>Null when every input and output of <paramref name="metadata"/> has a free dimension 0 (rows); otherwise why batching cannot apply.</summary>
    public static string? Unbatchable(StageMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var io in metadata.Inputs.Concat(metadata.Outputs))
        {
            if (io.Shape.IsDefaultOrEmpty || io.Shape[0] >= 0 || io.Type == TensorType.Null)
            {
                return $"stage '{metadata.Name}' cannot batch: {io} needs a free dimension 0 (rows), shape [-1,...]";
            }
        }

        return null;
    }

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!BatchShape.TryGetRows(request, _inner.Metadata, out var rows) || rows > _maxRows)
        {
            return await _inner.InferAsync(request, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        bool solo;
        lock (_gate)
        {
            _inStage++;
            _peak = Math.Max(_peak, _inStage);
            // Nothing queued, a free slot, and no one else expected: run now, as without batching.
            solo = _queue.Count == 0 && _runningBatches < _maxBatches && _runningRequests + 1 >= _peak && !_disposed;
            if (solo)
            {
                StartedLocked(1);
            }
        }

        try
        {
            if (solo)
            {
                return await RunAloneAsync(request, rows, 0, cancellationToken).ConfigureAwait(false);
            }

            return await EnqueueAsync(request, rows, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _inStage--;
            }
        }
    }

    private async ValueTask<StageResult> RunAloneAsync(StageRequest request, long rows, double waited, CancellationToken cancellationToken)
    {
        BatchingTelemetry.QueueDelay.Record(waited, _stageTag);
        BatchingTelemetry.BatchSize.Record(rows, _stageTag);
        try
        {
            return await _inner.InferAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Finished(1);
        }
    }

    private async ValueTask<StageResult> EnqueueAsync(StageRequest request, long rows, CancellationToken cancellationToken)
    {
        var entry = new BatchEntry(this, request, rows, _time.GetTimestamp(), cancellationToken);
        lock (_gate)
        {
            if (_disposed)
            {
                return StageResult.Failure(StageErrorKind.Unavailable, $"stage '{Metadata.Name}' is shutting down");
            }

            entry.Node = _queue.AddLast(entry);
        }

        using var registration = cancellationToken.Register(static s => ((BatchEntry)s!).Owner.Cancel((BatchEntry)s!), entry);
        Dispatch(entry);
        return await entry.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Starts every batch that is ready; one holding <paramref name="caller"/> runs on the caller's thread.</summary>
    private void Dispatch(BatchEntry? caller)
    {
        List<BatchEntry>? mine = null;
        while (true)
        {
            List<BatchEntry>? group;
            lock (_gate)
            {
                group = TakeReadyLocked();
            }

            if (group is null)
            {
                break;
            }

            if (caller is not null && mine is null && group.Contains(caller))
            {
                mine = group;
            }
            else
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Owner.RunAsync(s.Group), (Owner: this, Group: group), preferLocal: false);
            }
        }

        if (mine is not null)
        {
            _ = RunAsync(mine);
        }
    }

    /// <summary>The next batch to run, or null (arming the timer when a batch is waiting for companions). Under the lock.</summary>
    private List<BatchEntry>? TakeReadyLocked()
    {
        if (_queue.First is not { } headNode || _runningBatches >= _maxBatches)
        {
            return null;
        }

        var head = headNode.Value;
        var group = new List<BatchEntry>();
        long rows = 0;
        var cut = 0;
        long cutRows = 0;
        var full = false;
        for (var node = headNode; node is not null; node = node.Next)
        {
            var entry = node.Value;
            if (!BatchShape.Compatible(head.Request, entry.Request))
            {
                continue;
            }

            if (rows + entry.Rows > _maxRows)
            {
                full = true;
                break;
            }

            group.Add(entry);
            rows += entry.Rows;
            if (Array.BinarySearch(_preferred, (int)rows) >= 0)
            {
                cut = group.Count;
                cutRows = rows;
            }
        }

        full |= rows == _maxRows;
        var now = _time.GetTimestamp();
        var everyoneHere = _queue.Count + _runningRequests >= _peak;
        if (!full && cut > 0)
        {
            group.RemoveRange(cut, group.Count - cut); // the largest preferred size reached
            rows = cutRows;
        }
        else if (!full && !everyoneHere && now - head.EnqueuedAt < _delay && !_disposed)
        {
            ArmTimerLocked(head.EnqueuedAt + _delay - now);
            return null;
        }

        foreach (var entry in group)
        {
            _queue.Remove(entry.Node!);
            BatchingTelemetry.QueueDelay.Record((now - entry.EnqueuedAt) / (double)_time.TimestampFrequency, _stageTag);
        }

        StartedLocked(group.Count);
        BatchingTelemetry.BatchSize.Record(rows, _stageTag);
        return group;
    }

    private void StartedLocked(int requests)
    {
        _runningBatches++;
        _runningRequests += requests;
        // Who arrives from now on counts toward the next batch.
        _peak = _inStage;
    }

    private void ArmTimerLocked(long ticks)
    {
        if (_timerArmed)
        {
            return;
        }

        _timerArmed = true;
        // Timers count whole milliseconds: round up, or a sub-millisecond wait would fire at once and spin.
        var milliseconds = Math.Ceiling(Math.Max(ticks, 1) * 1000.0 / _time.TimestampFrequency);
        _timer.Change(TimeSpan.FromMilliseconds(milliseconds), Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            _timerArmed = false;
        }

        Dispatch(null);
    }

    private void Finished(int requests)
    {
        lock (_gate)
        {
            _runningBatches--;
            _runningRequests -= requests;
        }

        Dispatch(null);
    }

    private void Cancel(BatchEntry entry)
    {
        bool removed;
        lock (_gate)
        {
            removed = entry.Node!.List is not null;
            if (removed)
            {
                _queue.Remove(entry.Node);
            }
        }

        if (removed || entry.State == BatchEntry.InputsFree)
        {
            entry.Completion.TrySetCanceled(entry.CancellationToken);
        }

        if (removed)
        {
            Dispatch(null); // the head may have changed
        }
    }

    private async Task RunAsync(List<BatchEntry> group)
    {
        long rows = 0;
        foreach (var entry in group) rows += entry.Rows;
        try
        {
            if (group.Count == 1)
            {
                // Nothing to merge: the request runs as it came, under its own cancellation.
                await RunEntryAloneAsync(group[0]).ConfigureAwait(false);
                return;
            }

            await RunMergedAsync(group, rows).ConfigureAwait(false);
        }
        finally
        {
            Finished(group.Count);
        }
    }

    private async Task RunEntryAloneAsync(BatchEntry entry)
    {
        try
        {
            entry.Complete(await _inner.InferAsync(entry.Request, entry.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            entry.Completion.TrySetException(ex);
        }
        finally
        {
            entry.ReleaseInputs();
        }
    }

    private async Task RunMergedAsync(List<BatchEntry> group, long rows)
    {
        StageRequest merged;
        byte[][] rented;
        try
        {
            merged = BatchMerger.Merge(group, rows, _buffers, out rented);
        }
        finally
        {
            foreach (var entry in group) entry.ReleaseInputs();
        }

        StageResult result;
        try
        {
            // Not any one caller's token: a caller that leaves must not cancel the others' run.
            result = await _inner.InferAsync(merged, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SharedBatchResult.ReturnBuffers(_buffers, rented);
            foreach (var entry in group) entry.Completion.TrySetException(ex);
            return;
        }

        if (!result.IsSuccess)
        {
            result.Dispose();
            SharedBatchResult.ReturnBuffers(_buffers, rented);
            if (result.Error!.Kind == StageErrorKind.InvalidInput)
            {
                // One request's rows may be at fault: each runs alone, so only that one gets the error.
                foreach (var entry in group)
                {
                    if (entry.TryClaimInputs())
                    {
                        await RunEntryAloneAsync(entry).ConfigureAwait(false);
                    }
                }

                return;
            }

            foreach (var entry in group) entry.Complete(StageResult.Failure(result.Error));
            return;
        }

        if (BatchMerger.CannotSplit(Metadata.Name, merged, result, rows) is { } why)
        {
            result.Dispose();
            SharedBatchResult.ReturnBuffers(_buffers, rented);
            foreach (var entry in group) entry.Complete(StageResult.Failure(StageErrorKind.Internal, why));
            return;
        }

        var shared = new SharedBatchResult(result, _buffers, rented, group.Count);
        long start = 0;
        foreach (var entry in group)
        {
            var outputs = BatchMerger.Slice(result.Outputs, rows, start, entry.Rows);
            start += entry.Rows;
            entry.Complete(StageResult.Success(outputs, shared.Lease()));
        }
    }

    /// <summary>Fails requests still queued (the host disposes stages after the last request, so normally none); does not dispose the inner stage.</summary>
    public void Dispose()
    {
        BatchEntry[] left;
        lock (_gate)
        {
            _disposed = true;
            left = [.. _queue];
            _queue.Clear();
        }

        _timer.Dispose();
        foreach (var entry in left)
        {
            entry.Complete(StageResult.Failure(StageErrorKind.Unavailable, $"stage '{Metadata.Name}' is shutting down"));
        }
    }
}
