using Grpc.Core;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c> as the server implements it, in place of the generated base class:
/// ModelInfer takes and returns <see cref="RawMessage{T}"/>. Grpc.AspNetCore binds each method through
/// <see cref="InferenceServiceBinder"/> and calls the override of the method declared here.
/// </summary>
[BindServiceMethod(typeof(InferenceServiceBinder), nameof(InferenceServiceBinder.BindService))]
internal abstract class InferenceServiceBase
{
    public abstract Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context);

    public abstract Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context);

    public abstract Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context);

    public abstract Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context);

    public abstract Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context);

    public abstract Task<RawMessage<ModelInferResponse>> ModelInfer(RawMessage<ModelInferRequest> request, ServerCallContext context);
}
