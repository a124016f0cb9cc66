using System.Diagnostics;
using global::Grpc.Core;
using GraphPipe.Server.OpenInference.Wire;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// <c>inference.GRPCInferenceService</c> on the serving host, thin like the REST door: the host's
/// health checks answer liveness and readiness; <see cref="OpenInferenceInvoker"/> (admission, the
/// deadline, which is the shorter of the call's gRPC deadline and the host's request timeout) runs
/// inferences; errors are statuses whose message names the stage. Bound by <see cref="InferenceServiceBinder"/>:
/// ModelInfer takes and returns <see cref="RawMessage{T}"/>, so raw tensor contents are neither copied into
/// nor out of protobuf byte strings.
/// </summary>
internal sealed class GrpcInferenceEndpoint(StageCatalog catalog, OpenInferenceInvoker invoker, HealthCheckService health, TimeProvider time, ILogger<GrpcInferenceEndpoint> logger)
    : InferenceServiceBase
{
    public override async Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context)
        => new() { Live = await ServerInfo.IsLiveAsync(health, context.CancellationToken).ConfigureAwait(false) };

    public override async Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context)
        => new() { Ready = await ServerInfo.IsReadyAsync(health, context.CancellationToken).ConfigureAwait(false) };

    public override async Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        Find(request.Name, request.Version);
        return new() { Ready = await ServerInfo.IsReadyAsync(health, context.CancellationToken).ConfigureAwait(false) };
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = ServingMetrics.ServerName, Version = ServerInfo.Version };
        response.Extensions.AddRange(ServerInfo.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var stage = Find(request.Name, request.Version);
        var metadata = stage.Stage.Metadata;
        var response = new ModelMetadataResponse { Name = stage.Name, Platform = ModelLookup.Platform };
        response.Versions.Add(ModelLookup.VersionOf(stage));
        response.Inputs.AddRange(metadata.Inputs.Select(Describe));
        response.Outputs.AddRange(metadata.Outputs.Select(Describe));
        return Task.FromResult(response);
    }

    public override async Task<RawMessage<ModelInferResponse>> ModelInfer(RawMessage<ModelInferRequest> request, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        // The raw inputs' pooled buffer stays alive until the response has been written: outputs may be views of it.
        http.Response.RegisterForDispose(request);
        var message = request.Message;
        var stage = Find(message.ModelName, message.ModelVersion);
        var started = time.GetTimestamp();
        var status = StatusCodes.Status200OK;
        long responseBytes = 0;
        using var span = ServingTelemetry.Source.StartActivity(stage.Name);
        span?.SetTag(ServingMetrics.StageTag, stage.Name);
        // The outputs and rented buffers stay alive until the response has been serialized and sent.
        var rentals = new RentedBuffers();
        http.Response.RegisterForDispose(rentals);
        try
        {
            var bound = ProtoTensors.ToRequest(message, request.Raw, rentals, out var decodeError);
            if (bound is null)
            {
                status = StatusCodes.Status400BadRequest;
                throw Failure(stage, new StageError(StageErrorKind.InvalidInput, decodeError!));
            }

            var outcome = await invoker.InferAsync(stage, bound, http, CallDeadline(context)).ConfigureAwait(false);
            if (outcome.ClientGone)
            {
                status = 499;
                throw new RpcException(new Status(StatusCode.Cancelled, $"[{stage.Name}] the client went away"));
            }

            if (outcome.Error is { } error)
            {
                status = HttpStatusMapping.ToStatusCode(error.Kind);
                span?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
                if (status >= 500)
                {
                    Log.InferenceFailed(logger, stage.Name, status, error.Message);
                }

                throw Failure(stage, error);
            }

            var result = outcome.Result!;
            http.Response.RegisterForDispose(result);
            var response = new ModelInferResponse { ModelName = stage.Name, ModelVersion = ModelLookup.VersionOf(stage), Id = message.Id };
            var raw = ProtoTensors.AddOutputs(response, outcome.OutputNames, result.Outputs, typed: request.Raw.Count == 0 && message.Inputs.Count > 0, rentals);
            var answer = new RawMessage<ModelInferResponse>(response, raw);
            responseBytes = RawFieldWriter.CalculateSize(answer, OipMarshallers.RawOutputContentsField);
            return answer;
        }
        finally
        {
            ServingMetrics.RecordRequest(stage.Name, status, started, request.PayloadLength, responseBytes);
        }
    }

    private TimeSpan? CallDeadline(ServerCallContext context)
        => context.Deadline == DateTime.MaxValue ? null : context.Deadline - time.GetUtcNow().UtcDateTime;

    private ServedStage Find(string name, string version)
        => ModelLookup.Find(catalog, name, version, out var error) ?? throw new RpcException(new Status(StatusCode.NotFound, error!));

    private static RpcException Failure(ServedStage stage, StageError error)
        => new(new Status(ToStatusCode(error.Kind), $"[{stage.Name}] {error.Message}"));

    /// <summary>The one place where stage error kinds become gRPC status codes (as <see cref="HttpStatusMapping"/> does for HTTP).</summary>
    internal static StatusCode ToStatusCode(StageErrorKind kind) => kind switch
    {
        StageErrorKind.InvalidInput => StatusCode.InvalidArgument,
        StageErrorKind.Upstream => StatusCode.Unavailable,
        StageErrorKind.Unavailable => StatusCode.Unavailable,
        StageErrorKind.Timeout => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };

    private static ModelMetadataResponse.Types.TensorMetadata Describe(IOMetadata io)
    {
        var tensor = new ModelMetadataResponse.Types.TensorMetadata { Name = io.Name, Datatype = ModelLookup.Datatype(io) };
        if (!io.Shape.IsDefault)
        {
            tensor.Shape.AddRange(io.Shape);
        }

        return tensor;
    }
}
