using System.Buffers;
using CsCheck;
using Google.Protobuf;
using GraphPipe.Server.OpenInference.Grpc;
using Grpc.Core;

namespace GraphPipe.UnitTests.OpenInference;

/// <summary>Random OIP gRPC messages (all through Google.Protobuf's generated types) and the gRPC contexts a marshaller sees.</summary>
internal static class OipProtoGen
{
    public static readonly Gen<string> Text = Gen.String[Gen.Char, 0, 8];

    public static readonly Gen<InferParameter> Parameter = Gen.OneOf(
        Gen.Bool.Select(v => new InferParameter { BoolParam = v }),
        Gen.Long.Select(v => new InferParameter { Int64Param = v }),
        Text.Select(v => new InferParameter { StringParam = v }),
        Gen.Double.Select(v => new InferParameter { DoubleParam = v }),
        Gen.ULong.Select(v => new InferParameter { Uint64Param = v }),
        Gen.Int.Select(_ => new InferParameter()));

    public static readonly Gen<(string Key, InferParameter Value)[]> Parameters = Gen.Select(Text, Parameter).Array[0, 3];

    public static readonly Gen<InferTensorContents> Contents =
        from bools in Gen.Bool.Array[0, 4]
        from ints in Gen.Int.Array[0, 4]
        from longs in Gen.Long.Array[0, 4]
        from uints in Gen.UInt.Array[0, 4]
        from ulongs in Gen.ULong.Array[0, 4]
        from floats in Gen.Float.Array[0, 4]
        from doubles in Gen.Double.Array[0, 4]
        from bytes in Gen.Byte.Array[0, 6].Array[0, 3]
        select MakeContents(bools, ints, longs, uints, ulongs, floats, doubles, bytes);

    public static readonly Gen<ModelInferRequest.Types.InferInputTensor> Input =
        from name in Text
        from datatype in Text
        from shape in Gen.Long.Array[0, 4]
        from parameters in Parameters
        from contents in Gen.Frequency((1, Contents), (1, Gen.Int.Select(_ => (InferTensorContents)null!)))
        select Fill(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype, Shape = { shape }, Contents = contents }, t => t.Parameters, parameters);

    public static readonly Gen<ModelInferResponse.Types.InferOutputTensor> Output =
        from name in Text
        from datatype in Text
        from shape in Gen.Long.Array[0, 4]
        from parameters in Parameters
        from contents in Gen.Frequency((1, Contents), (1, Gen.Int.Select(_ => (InferTensorContents)null!)))
        select Fill(new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = datatype, Shape = { shape }, Contents = contents }, t => t.Parameters, parameters);

    /// <summary>Raw tensor contents: empty ones, small ones, and now and then one whose length takes a 3-byte varint.</summary>
    public static readonly Gen<byte[][]> Raw = Gen.Frequency((8, Gen.Byte.Array[0, 64]), (1, Gen.Byte.Array[16_000, 20_000])).Array[0, 4];

    public static readonly Gen<ModelInferRequest> Request =
        from model in Text
        from version in Text
        from id in Text
        from parameters in Parameters
        from inputs in Input.Array[0, 3]
        from outputs in Gen.Select(Text, Parameters).Array[0, 3]
        select Fill(
            new ModelInferRequest
            {
                ModelName = model,
                ModelVersion = version,
                Id = id,
                Inputs = { inputs },
                Outputs = { outputs.Select(o => Fill(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = o.Item1 }, t => t.Parameters, o.Item2)) },
            },
            m => m.Parameters,
            parameters);

    public static readonly Gen<ModelInferResponse> Response =
        from model in Text
        from version in Text
        from id in Text
        from parameters in Parameters
        from outputs in Output.Array[0, 3]
        select Fill(new ModelInferResponse { ModelName = model, ModelVersion = version, Id = id, Outputs = { outputs } }, m => m.Parameters, parameters);

    /// <summary>
    /// A top-level field no version of the proto defines: a varint, fixed64, fixed32, a length-delimited
    /// field, or a (deprecated) group. Known field numbers (1-7) appear with a wire type they do not have,
    /// which protobuf also keeps as unknown.
    /// </summary>
    public static readonly Gen<byte[]> UnknownField =
        from field in Gen.Int[1, 3000]
        from kind in Gen.Int[0, 4]
        from value in Gen.ULong
        from payload in Gen.Byte.Array[0, 12]
        select MakeUnknown(kind == 2 && field <= 7 ? field + 10 : field, kind, value, payload);

    /// <summary>The message's bytes, its raw entries as fields of their own, and unknown fields, in a shuffled order.</summary>
    public static byte[] Assemble(IMessage message, int rawField, byte[][] raw, byte[][] unknown, int seed)
    {
        var parts = new List<byte[]> { message.ToByteArray() };
        foreach (var r in raw)
        {
            using var stream = new MemoryStream();
            var output = new CodedOutputStream(stream);
            output.WriteTag(rawField, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(r));
            output.Flush();
            parts.Add(stream.ToArray());
        }

        parts.AddRange(unknown);
        var random = new Random(seed);
        return [.. parts.OrderBy(_ => random.Next()).SelectMany(p => p)];
    }

    /// <summary>The bytes as a sequence of segments of random sizes (1 byte and up), as the transport's pipe hands them over.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int seed)
    {
        var random = new Random(seed);
        if (bytes.Length == 0 || random.Next(4) == 0)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        Segment? first = null;
        Segment? last = null;
        for (var at = 0; at < bytes.Length;)
        {
            var length = Math.Min(bytes.Length - at, 1 + random.Next(random.Next(2) == 0 ? 8 : 4096));
            var segment = new Segment(bytes.AsMemory(at, length), at);
            last?.SetNext(segment);
            first ??= segment;
            last = segment;
            at += length;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static InferTensorContents MakeContents(bool[] bools, int[] ints, long[] longs, uint[] uints, ulong[] ulongs, float[] floats, double[] doubles, byte[][] bytes)
    {
        var contents = new InferTensorContents();
        contents.BoolContents.AddRange(bools);
        contents.IntContents.AddRange(ints);
        contents.Int64Contents.AddRange(longs);
        contents.UintContents.AddRange(uints);
        contents.Uint64Contents.AddRange(ulongs);
        contents.Fp32Contents.AddRange(floats);
        contents.Fp64Contents.AddRange(doubles);
        contents.BytesContents.AddRange(bytes.Select(ByteString.CopyFrom));
        return contents;
    }

    private static T Fill<T>(T message, Func<T, Google.Protobuf.Collections.MapField<string, InferParameter>> map, (string Key, InferParameter Value)[] parameters)
    {
        foreach (var (key, value) in parameters)
        {
            map(message)[key] = value;
        }

        return message;
    }

    private static byte[] MakeUnknown(int field, int kind, ulong value, byte[] payload)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        switch (kind)
        {
            case 0:
                output.WriteTag(field, WireFormat.WireType.Varint);
                output.WriteUInt64(value);
                break;
            case 1:
                output.WriteTag(field, WireFormat.WireType.Fixed64);
                output.WriteFixed64(value);
                break;
            case 2:
                output.WriteTag(field, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(payload));
                break;
            case 3:
                output.WriteTag(field, WireFormat.WireType.Fixed32);
                output.WriteFixed32((uint)value);
                break;
            default:
                output.WriteTag(field, WireFormat.WireType.StartGroup);
                output.WriteTag(1, WireFormat.WireType.Varint);
                output.WriteUInt64(value);
                output.WriteTag(field, WireFormat.WireType.EndGroup);
                break;
        }

        output.Flush();
        return stream.ToArray();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}

/// <summary>What Grpc.AspNetCore gives a serializer: a payload length first, then its buffer writer.</summary>
internal sealed class RecordingSerializationContext(IBufferWriter<byte> writer) : SerializationContext
{
    public int? PayloadLength { get; private set; }

    public bool Completed { get; private set; }

    public override void SetPayloadLength(int payloadLength) => PayloadLength = payloadLength;

    public override IBufferWriter<byte> GetBufferWriter() => writer;

    public override void Complete() => Completed = true;

    public override void Complete(byte[] payload) => throw new NotSupportedException("the marshallers write into the buffer writer");
}

internal sealed class SequenceDeserializationContext(ReadOnlySequence<byte> payload) : DeserializationContext
{
    public override int PayloadLength => (int)payload.Length;

    public override byte[] PayloadAsNewBuffer() => throw new NotSupportedException("the marshallers read the sequence");

    public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;
}

/// <summary>A buffer writer that hands out spans of a fixed small size (or the size asked for), as a pipe of small segments does.</summary>
internal sealed class ChunkedBufferWriter(int chunk) : IBufferWriter<byte>
{
    private readonly ArrayBufferWriter<byte> _inner = new();

    public byte[] Written => _inner.WrittenSpan.ToArray();

    public void Advance(int count) => _inner.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(Math.Max(sizeHint, chunk))[..Math.Max(sizeHint, chunk)];

    public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(Math.Max(sizeHint, chunk))[..Math.Max(sizeHint, chunk)];
}
