using CsCheck;
using Google.Protobuf;
using GraphPipe.Server.OpenInference.Grpc;
using Grpc.Core;

namespace GraphPipe.UnitTests.OpenInference;

/// <summary>
/// The ModelInfer marshallers against Google.Protobuf's generated code, the independent implementation:
/// on random messages (maps, typed contents, empty and multiple tensors, unknown fields, any segmentation
/// of the payload) they read the same message and write the same bytes.
/// </summary>
public sealed class RawFieldMarshallerTests
{
    [Fact]
    public void InferRequestDeserializer_AnyRequest_SameMessageAsGoogleProtobuf()
    {
        var gen = from message in OipProtoGen.Request
                  from raw in OipProtoGen.Raw
                  from unknown in OipProtoGen.UnknownField.Array[0, 3]
                  from seed in Gen.Int
                  select (message, raw, unknown, seed);
        gen.Sample(t =>
        {
            var bytes = OipProtoGen.Assemble(t.message, OipMarshallers.RawInputContentsField, t.raw, t.unknown, t.seed);
            var expected = ModelInferRequest.Parser.ParseFrom(bytes);

            using var ours = OipMarshallers.InferRequest.ContextualDeserializer(new SequenceDeserializationContext(OipProtoGen.Segmented(bytes, t.seed)));

            Assert.Equal(bytes.Length, ours.PayloadLength);
            Assert.Empty(ours.Message.RawInputContents);
            var rebuilt = ours.Message.Clone();
            rebuilt.RawInputContents.AddRange(ours.Raw.Select(r => ByteString.CopyFrom(r.Span)));
            Assert.Equal(expected, rebuilt);
            Assert.Equal(expected.ToByteArray(), rebuilt.ToByteArray());
        }, iter: 600);
    }

    [Fact]
    public void InferResponseDeserializer_AnyResponse_SameMessageAsGoogleProtobuf()
    {
        var gen = from message in OipProtoGen.Response
                  from raw in OipProtoGen.Raw
                  from unknown in OipProtoGen.UnknownField.Array[0, 3]
                  from seed in Gen.Int
                  select (message, raw, unknown, seed);
        gen.Sample(t =>
        {
            var bytes = OipProtoGen.Assemble(t.message, OipMarshallers.RawOutputContentsField, t.raw, t.unknown, t.seed);
            var expected = ModelInferResponse.Parser.ParseFrom(bytes);

            using var ours = OipMarshallers.InferResponse.ContextualDeserializer(new SequenceDeserializationContext(OipProtoGen.Segmented(bytes, t.seed)));

            var rebuilt = ours.Message.Clone();
            rebuilt.RawOutputContents.AddRange(ours.Raw.Select(r => ByteString.CopyFrom(r.Span)));
            Assert.Equal(expected, rebuilt);
        }, iter: 400);
    }

    [Fact]
    public void InferRequestDeserializer_TruncatedOrCorrupted_FailsOrSucceedsAsGoogleProtobuf()
    {
        var gen = from message in OipProtoGen.Request
                  from raw in OipProtoGen.Raw
                  from unknown in OipProtoGen.UnknownField.Array[0, 2]
                  from seed in Gen.Int
                  from cut in Gen.Double[0, 1]
                  from flip in Gen.Bool
                  select (message, raw, unknown, seed, cut, flip);
        gen.Sample(t =>
        {
            var whole = OipProtoGen.Assemble(t.message, OipMarshallers.RawInputContentsField, t.raw, t.unknown, t.seed);
            var bytes = whole[..(int)(whole.Length * t.cut)];
            if (t.flip && bytes.Length > 0)
            {
                bytes[new Random(t.seed).Next(bytes.Length)] ^= 0xA5;
            }

            ModelInferRequest? expected = null;
            Exception? expectedError = null;
            try
            {
                expected = ModelInferRequest.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException ex)
            {
                expectedError = ex;
            }

            if (expectedError is not null)
            {
                Assert.Throws<InvalidProtocolBufferException>(() => OipMarshallers.InferRequest.ContextualDeserializer(new SequenceDeserializationContext(OipProtoGen.Segmented(bytes, t.seed))));
                return;
            }

            using var ours = OipMarshallers.InferRequest.ContextualDeserializer(new SequenceDeserializationContext(OipProtoGen.Segmented(bytes, t.seed)));
            var rebuilt = ours.Message.Clone();
            rebuilt.RawInputContents.AddRange(ours.Raw.Select(r => ByteString.CopyFrom(r.Span)));
            Assert.Equal(expected, rebuilt);
        }, iter: 600);
    }

    [Fact]
    public void InferResponseSerializer_AnyResponse_SameBytesAsGoogleProtobuf()
    {
        var gen = from message in OipProtoGen.Response
                  from raw in OipProtoGen.Raw
                  from chunk in Gen.Int[1, 5000]
                  select (message, raw, chunk);
        gen.Sample(t =>
        {
            var expected = t.message.Clone();
            expected.RawOutputContents.AddRange(t.raw.Select(ByteString.CopyFrom));
            var writer = new ChunkedBufferWriter(t.chunk);
            var context = new RecordingSerializationContext(writer);

            OipMarshallers.InferResponse.ContextualSerializer(new RawMessage<ModelInferResponse>(t.message, [.. t.raw.Select(r => (ReadOnlyMemory<byte>)r)]), context);

            var bytes = expected.ToByteArray();
            Assert.Equal(bytes, writer.Written);
            Assert.Equal(bytes.Length, context.PayloadLength);
            Assert.True(context.Completed);
        }, iter: 600);
    }

    [Fact]
    public void InferRequestSerializer_AnyRequest_SameBytesAsGoogleProtobuf()
    {
        var gen = from message in OipProtoGen.Request
                  from raw in OipProtoGen.Raw
                  from chunk in Gen.Int[1, 5000]
                  select (message, raw, chunk);
        gen.Sample(t =>
        {
            var expected = t.message.Clone();
            expected.RawInputContents.AddRange(t.raw.Select(ByteString.CopyFrom));
            var writer = new ChunkedBufferWriter(t.chunk);
            var context = new RecordingSerializationContext(writer);

            OipMarshallers.InferRequest.ContextualSerializer(new RawMessage<ModelInferRequest>(t.message, [.. t.raw.Select(r => (ReadOnlyMemory<byte>)r)]), context);

            Assert.Equal(expected.ToByteArray(), writer.Written);
            Assert.Equal(writer.Written.Length, context.PayloadLength);
        }, iter: 400);
    }

    [Fact]
    public void InferRequestDeserializer_RawContents_SlicesOfOnePooledBuffer()
    {
        var message = new ModelInferRequest { ModelName = "m", Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "a" }, new ModelInferRequest.Types.InferInputTensor { Name = "b" } } };
        byte[][] raw = [[1, 2, 3], new byte[70_000]];
        var bytes = OipProtoGen.Assemble(message, OipMarshallers.RawInputContentsField, raw, [], seed: 1);

        using var ours = OipMarshallers.InferRequest.ContextualDeserializer(new SequenceDeserializationContext(OipProtoGen.Segmented(bytes, 7)));

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(ours.Raw[0], out var first));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(ours.Raw[1], out var second));
        Assert.Same(first.Array, second.Array);
        Assert.Equal(raw[0].Length, second.Offset - first.Offset);
        Assert.Equal(raw[1].Length, ours.Raw[1].Length);
    }

    [Fact]
    public void BindService_AllMethods_ThePublishedNamesWithModelInferOnRawMarshallers()
    {
        var binder = new RecordingBinder();

        InferenceServiceBinder.BindService(binder, null);

        var published = GRPCInferenceService.Descriptor.Methods.Select(m => $"/{GRPCInferenceService.Descriptor.FullName}/{m.Name}").Order();
        Assert.Equal(published, binder.Methods.Keys.Order());
        Assert.Same(OipMarshallers.InferRequest, binder.Methods["/inference.GRPCInferenceService/ModelInfer"]);
    }

    private sealed class RecordingBinder : ServiceBinderBase
    {
        public Dictionary<string, object> Methods { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
            => Methods.Add(method.FullName, method.RequestMarshaller);
    }
}
