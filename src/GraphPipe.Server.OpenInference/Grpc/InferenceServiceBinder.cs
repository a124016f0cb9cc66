using Grpc.Core;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// Binds an <see cref="InferenceServiceBase"/> (the server's <see cref="GrpcInferenceEndpoint"/>) as
/// <c>inference.GRPCInferenceService</c> (the published service and method names, so every OIP client
/// calls it unchanged), with ModelInfer on
/// <see cref="OipMarshallers.InferRequest"/>/<see cref="OipMarshallers.InferResponse"/> instead of the
/// generated, copying ones. <c>MapGrpcService&lt;GrpcInferenceEndpoint&gt;()</c> finds it through the
/// base class's <see cref="BindServiceMethodAttribute"/>.
/// </summary>
internal static class InferenceServiceBinder
{
    private static readonly string Service = GRPCInferenceService.Descriptor.FullName;

    internal static readonly Method<ServerLiveRequest, ServerLiveResponse> ServerLive = Unary("ServerLive", ServerLiveRequest.Parser, ServerLiveResponse.Parser);
    internal static readonly Method<ServerReadyRequest, ServerReadyResponse> ServerReady = Unary("ServerReady", ServerReadyRequest.Parser, ServerReadyResponse.Parser);
    internal static readonly Method<ModelReadyRequest, ModelReadyResponse> ModelReady = Unary("ModelReady", ModelReadyRequest.Parser, ModelReadyResponse.Parser);
    internal static readonly Method<ServerMetadataRequest, ServerMetadataResponse> ServerMetadata = Unary("ServerMetadata", ServerMetadataRequest.Parser, ServerMetadataResponse.Parser);
    internal static readonly Method<ModelMetadataRequest, ModelMetadataResponse> ModelMetadata = Unary("ModelMetadata", ModelMetadataRequest.Parser, ModelMetadataResponse.Parser);

    internal static readonly Method<RawMessage<ModelInferRequest>, RawMessage<ModelInferResponse>> ModelInfer =
        new(MethodType.Unary, Service, "ModelInfer", OipMarshallers.InferRequest, OipMarshallers.InferResponse);

    /// <summary>Called by Grpc.AspNetCore with a null service (it creates the endpoint per call and finds each handler by the method's name).</summary>
    public static void BindService(ServiceBinderBase binder, InferenceServiceBase? service)
    {
        ArgumentNullException.ThrowIfNull(binder);
        binder.AddMethod(ServerLive, service is null ? null : service.ServerLive);
        binder.AddMethod(ServerReady, service is null ? null : service.ServerReady);
        binder.AddMethod(ModelReady, service is null ? null : service.ModelReady);
        binder.AddMethod(ServerMetadata, service is null ? null : service.ServerMetadata);
        binder.AddMethod(ModelMetadata, service is null ? null : service.ModelMetadata);
        binder.AddMethod(ModelInfer, service is null ? null : service.ModelInfer);
    }

    private static Method<TRequest, TResponse> Unary<TRequest, TResponse>(string name, Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse>
        => new(MethodType.Unary, Service, name, OipMarshallers.For(request), OipMarshallers.For(response));
}
