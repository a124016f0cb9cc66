using GraphPipe.Stages;

namespace GraphPipe.Reloading;

/// <summary>
/// A stage whose implementation can be replaced while it serves (hot reload): <see cref="Swap"/> is atomic,
/// each request runs start to end on the stage it found (holding a reference until its result is disposed,
/// since outputs may point into that stage's memory), and a replaced stage is disposed after its last request.
/// </summary>
public sealed class SwappableStage : IInferenceStage, IDisposable
{
    private SharedStage _current;
    private int _disposed;

    /// <summary>Starts with <paramref name="initial"/> (takes a reference of its own).</summary>
    public SwappableStage(SharedStage initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        if (!initial.TryAcquire())
        {
            throw new ObjectDisposedException(nameof(SharedStage), "The stage to serve has already been released.");
        }

        _current = initial;
    }

    public StageMetadata Metadata => Volatile.Read(ref _current).Stage.Metadata;

    /// <summary>The stage serving now.</summary>
    public SharedStage Current => Volatile.Read(ref _current);

    /// <summary>Serves <paramref name="next"/> from now on; the stage it replaces goes when its requests have finished.</summary>
    public void Swap(SharedStage next)
    {
        ArgumentNullException.ThrowIfNull(next);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!next.TryAcquire())
        {
            throw new ObjectDisposedException(nameof(SharedStage), "The stage to swap in has already been released.");
        }

        Interlocked.Exchange(ref _current, next).Release();
    }

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        var lease = Volatile.Read(ref _current);
        while (!lease.TryAcquire())
        {
            // A swap released this one between the read and the acquire: read again; once disposed, nothing is left.
            if (Volatile.Read(ref _disposed) != 0)
            {
                return StageResult.Failure(StageErrorKind.Unavailable, $"'{lease.Stage.Metadata.Name}' was unloaded; retry");
            }

            lease = Volatile.Read(ref _current);
        }

        StageResult result;
        try
        {
            result = await lease.Stage.InferAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lease.Release();
            throw;
        }

        if (!result.IsSuccess)
        {
            lease.Release();
            return result;
        }

        return StageResult.Success(result.Outputs, new Lease(result, lease));
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Volatile.Read(ref _current).Release();
        }
    }

    /// <summary>Releases the result's own buffers, then the reference on the stage that made them.</summary>
    private sealed class Lease(StageResult result, SharedStage stage) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                result.Dispose();
                stage.Release();
            }
        }
    }
}
