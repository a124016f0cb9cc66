using Google.Protobuf;
using Grpc.Core;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// The marshallers of <c>inference.GRPCInferenceService</c>: ModelInfer's with the raw contents kept out of
/// the protobuf message (<see cref="RawFieldReader"/>, <see cref="RawFieldWriter"/>); the other methods' as
/// the generated code does (parse from the payload sequence, write into the transport's buffer writer).
/// </summary>
internal static class OipMarshallers
{
    /// <summary><c>ModelInferRequest.raw_input_contents</c>, field 7 of the published proto.</summary>
    public const int RawInputContentsField = ModelInferRequest.RawInputContentsFieldNumber;

    /// <summary><c>ModelInferResponse.raw_output_contents</c>, field 6 of the published proto.</summary>
    public const int RawOutputContentsField = ModelInferResponse.RawOutputContentsFieldNumber;

    public static readonly Marshaller<RawMessage<ModelInferRequest>> InferRequest = Marshallers.Create(
        static (message, context) => RawFieldWriter.Write(message, RawInputContentsField, context),
        static context => RawFieldReader.Read(context.PayloadAsReadOnlySequence(), RawInputContentsField, ModelInferRequest.Parser, static m => m.RawInputContents));

    public static readonly Marshaller<RawMessage<ModelInferResponse>> InferResponse = Marshallers.Create(
        static (message, context) => RawFieldWriter.Write(message, RawOutputContentsField, context),
        static context => RawFieldReader.Read(context.PayloadAsReadOnlySequence(), RawOutputContentsField, ModelInferResponse.Parser, static m => m.RawOutputContents));

    public static Marshaller<T> For<T>(MessageParser<T> parser)
        where T : IMessage<T>
        => Marshallers.Create(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
