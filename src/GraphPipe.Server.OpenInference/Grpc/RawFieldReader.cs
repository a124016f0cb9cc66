using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Collections;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// Reads a protobuf message from the gRPC payload (a <see cref="ReadOnlySequence{T}"/> of the transport's
/// segments) with one repeated <c>bytes</c> field taken out: each of its entries is copied once into a
/// single pooled buffer and kept as a slice, where Google.Protobuf would allocate a fresh array per entry
/// (a 602 KB tensor is a large-object-heap allocation per call). The other top-level fields are parsed by
/// Google.Protobuf itself from a compact copy of their bytes, so their meaning (maps, typed contents,
/// unknown fields) is exactly the generated code's. The payload belongs to the transport and is released
/// once the marshaller returns, so the one copy into the pooled buffer cannot be avoided.
/// </summary>
internal static class RawFieldReader
{
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireFixed32 = 5;

    public static RawMessage<T> Read<T>(ReadOnlySequence<byte> payload, int rawField, MessageParser<T> parser, Func<T, RepeatedField<ByteString>> rawOf)
        where T : IMessage<T>
    {
        // gRPC frames a message with a 32-bit length and Grpc.AspNetCore caps it at its maximum receive size.
        var length = checked((int)payload.Length);
        var measure = new SequenceReader<byte>(payload);
        if (!Scan(ref measure, rawField, default, out var rawBytes, out var rawCount, out var restBytes))
        {
            // Something this scan does not take apart (groups, a malformed message): the generated code decides.
            return Parsed(parser.ParseFrom(payload), rawOf, length);
        }

        if (rawCount == 0)
        {
            return new RawMessage<T>(parser.ParseFrom(payload), [], payloadLength: length);
        }

        var pooled = ArrayPool<byte>.Shared.Rent(rawBytes + restBytes);
        try
        {
            var raw = new ReadOnlyMemory<byte>[rawCount];
            var copy = new SequenceReader<byte>(payload);
            Scan(ref copy, rawField, new Target(pooled, rawBytes, raw), out _, out _, out _);
            var message = parser.ParseFrom(pooled.AsSpan(rawBytes, restBytes));
            return new RawMessage<T>(message, raw, pooled, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(pooled);
            throw;
        }
    }

    private static RawMessage<T> Parsed<T>(T message, Func<T, RepeatedField<ByteString>> rawOf, int length)
        where T : IMessage<T>
    {
        var field = rawOf(message);
        var raw = new ReadOnlyMemory<byte>[field.Count];
        for (var i = 0; i < raw.Length; i++)
        {
            raw[i] = field[i].Memory;
        }

        field.Clear();
        return new RawMessage<T>(message, raw, payloadLength: length);
    }

    /// <summary>Where the second pass copies to: raw entries from offset 0, the other fields after <c>RestStart</c>.</summary>
    private readonly record struct Target(byte[]? Buffer, int RestStart, ReadOnlyMemory<byte>[]? Raw);

    /// <summary>
    /// Walks the top-level fields. Without a target it measures (false when the message is not one this
    /// scan takes apart); with one it copies each raw entry's payload and each other field's bytes (tag included).
    /// </summary>
    private static bool Scan(ref SequenceReader<byte> reader, int rawField, Target target, out int rawBytes, out int rawCount, out int restBytes)
    {
        rawBytes = rawCount = restBytes = 0;
        while (!reader.End)
        {
            var start = reader.Position;
            var startOffset = reader.Consumed;
            if (!TryReadVarint(ref reader, out var tag) || tag > uint.MaxValue || tag >> 3 == 0)
            {
                return false;
            }

            var wire = (int)(tag & 7);
            var isRaw = (int)(tag >> 3) == rawField && wire == WireLengthDelimited;
            long payloadLength;
            switch (wire)
            {
                case WireVarint:
                    if (!TryReadVarint(ref reader, out _))
                    {
                        return false;
                    }

                    payloadLength = 0;
                    break;
                case WireFixed64:
                    payloadLength = 8;
                    break;
                case WireFixed32:
                    payloadLength = 4;
                    break;
                case WireLengthDelimited:
                    if (!TryReadVarint(ref reader, out var declared) || declared > int.MaxValue)
                    {
                        return false;
                    }

                    payloadLength = (long)declared;
                    break;
                default:
                    return false; // groups (deprecated) and invalid wire types
            }

            if (reader.Remaining < payloadLength)
            {
                return false;
            }

            if (isRaw)
            {
                if (target.Buffer is not null)
                {
                    var destination = target.Buffer.AsMemory(rawBytes, (int)payloadLength);
                    reader.UnreadSequence.Slice(0, payloadLength).CopyTo(destination.Span);
                    target.Raw![rawCount] = destination;
                }

                rawBytes += (int)payloadLength;
                rawCount++;
                reader.Advance(payloadLength);
            }
            else
            {
                reader.Advance(payloadLength);
                var fieldLength = reader.Consumed - startOffset;
                if (target.Buffer is not null)
                {
                    reader.Sequence.Slice(start, fieldLength).CopyTo(target.Buffer.AsSpan(target.RestStart + restBytes, (int)fieldLength));
                }

                restBytes += (int)fieldLength;
            }
        }

        return true;
    }

    private static bool TryReadVarint(ref SequenceReader<byte> reader, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                return false;
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
