using System.Buffers;
using Google.Protobuf;
using Grpc.Core;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// Writes a <see cref="RawMessage{T}"/> straight into the gRPC transport's buffer writer: the message's
/// other fields by Google.Protobuf, then each raw entry as its tag, length and the tensor's own bytes,
/// copied from the stage's buffers into the response pipe with no buffer in between. With the payload
/// length given first, Grpc.AspNetCore hands out the HTTP/2 response pipe itself. The bytes equal
/// Google.Protobuf's for the same message with the raw entries in it (it writes fields in number order,
/// and the raw field is the last one of both messages), as long as the message carries no unknown
/// fields, which a message built to be sent never does.
/// </summary>
internal static class RawFieldWriter
{
    public static int CalculateSize<T>(RawMessage<T> message, int rawField)
        where T : IMessage<T>
    {
        var tagSize = CodedOutputStream.ComputeTagSize(rawField);
        long size = message.Message.CalculateSize();
        var entries = message.Raw;
        for (var i = 0; i < entries.Count; i++)
        {
            size += tagSize + CodedOutputStream.ComputeLengthSize(entries[i].Length) + entries[i].Length;
        }

        return size <= int.MaxValue ? (int)size : throw new RpcException(new Status(StatusCode.ResourceExhausted, $"message of {size} bytes is over 2 GiB"));
    }

    public static void Write<T>(RawMessage<T> message, int rawField, SerializationContext context)
        where T : IMessage<T>
    {
        context.SetPayloadLength(CalculateSize(message, rawField));
        var writer = context.GetBufferWriter();
        Write(message, rawField, writer);
        context.Complete();
    }

    public static void Write<T>(RawMessage<T> message, int rawField, IBufferWriter<byte> writer)
        where T : IMessage<T>
    {
        message.Message.WriteTo(writer);
        var tag = WireFormat.MakeTag(rawField, WireFormat.WireType.LengthDelimited);
        Span<byte> header = stackalloc byte[10];
        var entries = message.Raw;
        for (var i = 0; i < entries.Count; i++)
        {
            var raw = entries[i];
            var headerLength = WriteVarint(header, tag);
            headerLength += WriteVarint(header[headerLength..], (uint)raw.Length);
            writer.Write(header[..headerLength]);
            // In the writer's own chunks (Kestrel's pooled segments): no sized request that would allocate.
            var rest = raw.Span;
            while (!rest.IsEmpty)
            {
                var span = writer.GetSpan();
                var n = Math.Min(span.Length, rest.Length);
                rest[..n].CopyTo(span);
                writer.Advance(n);
                rest = rest[n..];
            }
        }
    }

    private static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }
}
