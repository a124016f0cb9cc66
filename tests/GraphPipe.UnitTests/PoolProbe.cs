using System.Buffers;

namespace GraphPipe.UnitTests;

/// <summary>
/// Puts one known array of a size in this thread's slot of <see cref="ArrayPool{T}.Shared"/> (taking out what was
/// there first), so that code which rents an array of that size on this thread gets that one, and the next rent
/// shows whether it came back (and only once). Works for code that runs synchronously on the test's thread.
/// </summary>
internal sealed class PoolProbe<T> : IDisposable
{
    private readonly T[] _held;

    public PoolProbe(int size, Action<T[]>? fill = null)
    {
        _held = ArrayPool<T>.Shared.Rent(size);
        Known = ArrayPool<T>.Shared.Rent(size);
        fill?.Invoke(Known);
        ArrayPool<T>.Shared.Return(Known);
    }

    /// <summary>The array the next rent of this size on this thread gets.</summary>
    public T[] Known { get; }

    /// <summary>The next two arrays of the size the pool hands out on this thread (given back afterwards).</summary>
    public (T[] First, T[] Second) RentTwo()
    {
        var first = ArrayPool<T>.Shared.Rent(Known.Length);
        var second = ArrayPool<T>.Shared.Rent(Known.Length);
        ArrayPool<T>.Shared.Return(second);
        ArrayPool<T>.Shared.Return(first);
        return (first, second);
    }

    public void Dispose() => ArrayPool<T>.Shared.Return(_held);
}
