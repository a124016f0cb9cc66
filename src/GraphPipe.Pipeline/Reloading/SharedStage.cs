using GraphPipe.Stages;

namespace GraphPipe.Reloading;

/// <summary>
/// A loaded stage shared by reference count: whoever holds it (a <see cref="SwappableStage"/>, a request in
/// flight) holds one reference, and the stage's owner is disposed when the last one is released, so a
/// swapped-out model finishes its requests before it goes. Created with one reference, its creator's.
/// </summary>
public sealed class SharedStage
{
    private readonly IDisposable? _owner;
    private int _references = 1;

    public SharedStage(IInferenceStage stage, IDisposable? owner)
    {
        Stage = stage ?? throw new ArgumentNullException(nameof(stage));
        _owner = owner;
    }

    public IInferenceStage Stage { get; }

    /// <summary>Whether it has been released by everyone (and its owner disposed).</summary>
    public bool IsDisposed => Volatile.Read(ref _references) == 0;

    /// <summary>Takes a reference; false once the last one has been released (the stage is gone).</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives a reference back; the last one disposes the owner.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            _owner?.Dispose();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("A shared stage was released more often than it was acquired.");
        }
    }
}
