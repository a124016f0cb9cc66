namespace GraphPipe.Stages;

/// <summary>
/// An asynchronous semaphore counted in bytes: bounds the memory that concurrent requests of a stage hold
/// at once. A request that does not fit waits (first come, first served, so a large one is not starved by
/// a stream of small ones) until earlier leases are disposed or its cancellation token fires.
/// </summary>
public sealed class MemoryBudget
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _available;

    public MemoryBudget(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _available = capacity;
    }

    /// <summary>Bytes the budget holds in all.</summary>
    public long Capacity { get; }

    /// <summary>Bytes not leased right now.</summary>
    public long Available
    {
        get
        {
            lock (_gate)
            {
                return _available;
            }
        }
    }

    /// <summary>
    /// Leases <paramref name="bytes"/>, waiting while they are not available; dispose the lease to give them back.
    /// Callers check <paramref name="bytes"/> against <see cref="Capacity"/> first: more could never be granted.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is negative or exceeds <see cref="Capacity"/>.</exception>
    /// <exception cref="OperationCanceledException">The token fired while waiting; nothing is leased.</exception>
    public ValueTask<IDisposable> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, Capacity);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return ValueTask.FromResult<IDisposable>(new Lease(this, bytes));
            }

            waiter = new Waiter(this, bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        if (cancellationToken.CanBeCanceled)
        {
            // Registered outside the lock: the callback may run at once and takes the lock itself.
            var registration = cancellationToken.Register(static state => ((Waiter)state!).Owner.Cancel((Waiter)state!), waiter);
            lock (_gate)
            {
                if (waiter.Node.List is null)
                {
                    registration.Unregister(); // granted or cancelled meanwhile
                }
                else
                {
                    waiter.Registration = registration;
                }
            }
        }

        return new ValueTask<IDisposable>(waiter.Completion.Task);
    }

    private void Cancel(Waiter waiter)
    {
        lock (_gate)
        {
            if (waiter.Node!.List is null)
            {
                return; // already granted: the caller holds the lease
            }

            _waiters.Remove(waiter.Node);
            // The head may have been this waiter, holding back smaller ones that fit now.
            GrantWaiters();
        }

        waiter.Completion.TrySetCanceled();
    }

    private void Release(long bytes)
    {
        lock (_gate)
        {
            _available += bytes;
            GrantWaiters();
        }
    }

    /// <summary>Grants waiters in order while the head fits. Called under the lock; completions run asynchronously.</summary>
    private void GrantWaiters()
    {
        while (_waiters.First is { } head && head.Value.Bytes <= _available)
        {
            _available -= head.Value.Bytes;
            _waiters.RemoveFirst();
            // Unregister, not Dispose: Dispose would wait for a running Cancel, which waits for this lock.
            head.Value.Registration.Unregister();
            head.Value.Completion.TrySetResult(new Lease(this, head.Value.Bytes));
        }
    }

    private sealed class Waiter(MemoryBudget owner, long bytes)
    {
        public MemoryBudget Owner { get; } = owner;

        public long Bytes { get; } = bytes;

        public TaskCompletionSource<IDisposable> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Lease(MemoryBudget owner, long bytes) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(bytes);
            }
        }
    }
}
