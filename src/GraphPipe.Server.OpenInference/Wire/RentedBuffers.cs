using System.Buffers;

namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>
/// The pooled arrays one request's tensors live in (decoded JSON numbers, typed gRPC contents, encoded
/// BYTES): returned together once the response is written.
/// </summary>
internal sealed class RentedBuffers : IDisposable
{
    private List<byte[]>? _arrays;

    /// <summary>A rented array of at least <paramref name="length"/> bytes, returned on <see cref="Dispose"/>.</summary>
    public byte[] Rent(int length)
    {
        var array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        (_arrays ??= new List<byte[]>(2)).Add(array);
        return array;
    }

    public void Dispose()
    {
        if (_arrays is null)
        {
            return;
        }

        foreach (var array in _arrays)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _arrays = null;
    }
}
