using System.Buffers;

namespace GraphPipe.Server.Serving;

/// <summary>
/// The buffers request bodies are read into. Large ones (256 KB and up, e.g. a 602 KB image tensor) come from a pool
/// of their own: <see cref="ArrayPool{T}.Shared"/> keeps a returned array in the returning thread's slot and at most
/// eight per core, so when a batched stage answered sixteen requests at once most of their buffers were dropped
/// and the next sixteen bodies were read into new 1 MB arrays on the large object heap.
/// </summary>
internal static class BodyBuffers
{
    private const int Large = 256 * 1024;

    /// <summary>Up to 32 arrays per size class: more than that were never out at once unless as many requests ran.</summary>
    private static readonly ArrayPool<byte> LargePool = ArrayPool<byte>.Create(1024 * 1024 * 1024, 32);

    public static byte[] Rent(int minimumLength) => minimumLength >= Large ? LargePool.Rent(minimumLength) : ArrayPool<byte>.Shared.Rent(minimumLength);

    /// <summary>Returns by size: an array of 256 KB or more goes to the large pool (one the pool did not size, over its largest class, is dropped).</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length < Large)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else if (System.Numerics.BitOperations.IsPow2(buffer.Length))
        {
            LargePool.Return(buffer);
        }
    }
}
