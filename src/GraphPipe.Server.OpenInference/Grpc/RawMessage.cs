using System.Buffers;
using Google.Protobuf;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// A protobuf message with its repeated <c>bytes</c> field of raw tensor contents held beside it rather
/// than in it (<c>raw_input_contents</c>, <c>raw_output_contents</c>): on the way in, slices of one pooled
/// buffer (<see cref="RawFieldReader"/>); on the way out, the stage's own output buffers
/// (<see cref="RawFieldWriter"/>). <see cref="Message"/> holds every other field, unknown ones included.
/// </summary>
internal sealed class RawMessage<T> : IDisposable
    where T : IMessage<T>
{
    private byte[]? _pooled;

    internal RawMessage(T message, IReadOnlyList<ReadOnlyMemory<byte>> raw, byte[]? pooled = null, int payloadLength = -1)
    {
        Message = message;
        Raw = raw;
        _pooled = pooled;
        PayloadLength = payloadLength;
    }

    /// <summary>Every field but the raw contents.</summary>
    public T Message { get; }

    /// <summary>The raw contents, one entry per tensor, in order; valid until <see cref="Dispose"/>.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Raw { get; }

    /// <summary>The size of the message as it was read, or -1 for one built to be written.</summary>
    public int PayloadLength { get; }

    /// <summary>Returns the pooled buffer the raw contents were read into (if any).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _pooled, null) is { } pooled)
        {
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }
}
