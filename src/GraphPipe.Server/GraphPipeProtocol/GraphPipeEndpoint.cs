using System.Diagnostics;
using GraphPipe.Pipelines;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using GraphPipe.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.GraphPipeProtocol;

/// <summary>
/// The GraphPipe protocol endpoint, thin: POST is a flatbuffers request (inference or metadata), GET
/// answers metadata as JSON, as the reference servers do. Reading, admission, the deadline and the
/// stage run are the host's (<see cref="RequestBodyReader"/>, <see cref="StageInvoker"/>).
/// </summary>
internal sealed class GraphPipeEndpoint(RequestBodyReader bodies, StageInvoker invoker, IOptions<GraphPipeServerOptions> options, TimeProvider time, ILogger<GraphPipeEndpoint> logger)
{
    private const string OctetStream = "application/octet-stream";
    private readonly bool _serverTiming = options.Value.ServerTiming;

    public Task HandleAsync(HttpContext context, ServedStage stage)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsPost(method))
        {
            return HandlePostAsync(context, stage);
        }

        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return WriteMetadataJsonAsync(context, stage);
        }

        context.Response.Headers.Allow = "GET, HEAD, POST";
        return ErrorResponse.WriteTextAsync(context, StatusCodes.Status405MethodNotAllowed, $"[{stage.Name}] method {method} is not supported: POST a GraphPipe request, or GET for metadata");
    }

    private async Task HandlePostAsync(HttpContext context, ServedStage stage)
    {
        var started = time.GetTimestamp();
        using var span = ServingTelemetry.Source.StartActivity(stage.Name);
        span?.SetTag(ServingMetrics.StageTag, stage.Name);
        using var body = await bodies.ReadAsync(context, stage.Name).ConfigureAwait(false);
        if (body is null)
        {
            Record(stage, context, started, 0);
            return;
        }

        try
        {
            var decodeStart = time.GetTimestamp();
            GraphPipeRequest? request;
            string? parseError;
            using (ServingTelemetry.Source.StartActivity("decode"))
            {
                GraphPipeReader.TryReadRequest(body.Memory, out request, out parseError);
            }

            if (request is null)
            {
                await ErrorResponse.WriteTextAsync(context, StatusCodes.Status400BadRequest, $"[{stage.Name}] {parseError}").ConfigureAwait(false);
                return;
            }

            if (request.Kind != RequestKind.Infer)
            {
                await WriteMetadataAsync(context, stage).ConfigureAwait(false);
                return;
            }

            var route = PipelineRoute.Parse(request.Infer!.Config);
            var bound = RequestBinder.Bind(request.Infer!, stage.Stage.Metadata, stage.DefaultInputs, stage.DefaultOutputs, out var bindError,
                passThroughOutputs: stage.ForwardsOutputs(route));
            if (bound is null)
            {
                await WriteErrorAsync(context, stage, bindError!).ConfigureAwait(false);
                return;
            }

            // The route is parsed once, here, and travels with the request.
            bound.Route = route;
            var timings = _serverTiming ? new StageTimings() : null;
            bound.Timings = timings;

            var decode = time.GetElapsedTime(decodeStart);
            var outcome = await invoker.InvokeAsync(stage, bound, context).ConfigureAwait(false);
            if (outcome.ClientGone)
            {
                return;
            }

            if (_serverTiming)
            {
                context.Response.Headers["Server-Timing"] = ServerTimingHeader.Format(decode, outcome.Queued, outcome.Run, timings);
            }

            if (outcome.Error is { } error)
            {
                span?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
                await WriteErrorAsync(context, stage, error).ConfigureAwait(false);
                return;
            }

            using var result = outcome.Result!;
            if (!result.IsSuccess)
            {
                await WriteErrorAsync(context, stage, result.Error!).ConfigureAwait(false);
                return;
            }

            var writer = GraphPipeWriter.Rent();
            try
            {
                await WriteBytesAsync(context, writer.WriteInferResponse(result.Outputs)).ConfigureAwait(false);
            }
            finally
            {
                GraphPipeWriter.Return(writer);
            }
        }
        finally
        {
            Record(stage, context, started, body.Length);
        }
    }

    private static void Record(ServedStage stage, HttpContext context, long started, int requestBytes)
        => ServingMetrics.RecordRequest(stage.Name, context.Response.StatusCode, started, requestBytes, context.Response.ContentLength ?? 0);

    private async Task WriteMetadataAsync(HttpContext context, ServedStage stage)
    {
        var writer = GraphPipeWriter.Rent();
        try
        {
            await WriteBytesAsync(context, writer.WriteMetadataResponse(WithServerName(stage.Stage.Metadata))).ConfigureAwait(false);
        }
        finally
        {
            GraphPipeWriter.Return(writer);
        }
    }

    private Task WriteErrorAsync(HttpContext context, ServedStage stage, StageError error)
    {
        var status = HttpStatusMapping.ToStatusCode(error.Kind);
        if (status >= 500)
        {
            Log.InferenceFailed(logger, stage.Name, status, error.Message);
        }

        return ErrorResponse.WriteTextAsync(context, status, $"[{stage.Name}] {error.Message}");
    }

    private static async Task WriteBytesAsync(HttpContext context, ReadOnlyMemory<byte> payload)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = OctetStream;
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteMetadataJsonAsync(HttpContext context, ServedStage stage)
    {
        var json = MetadataJson.Write(WithServerName(stage.Stage.Metadata));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = json.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static StageMetadata WithServerName(StageMetadata metadata)
        => !string.IsNullOrEmpty(metadata.Server) ? metadata : new StageMetadata
        {
            Name = metadata.Name,
            Version = metadata.Version,
            Server = ServingMetrics.ServerName,
            Description = metadata.Description,
            Inputs = metadata.Inputs,
            Outputs = metadata.Outputs,
        };
}
