using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GraphPipe.Server.OpenInference.Wire;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.OpenInference.Rest;

/// <summary>
/// The OIP REST door, thin: <c>GET /v2</c>, model metadata and readiness, and <c>POST .../infer</c>.
/// Reading (bounded), admission, the deadline, the stage run and the metrics are the host's
/// (<see cref="RequestBodyReader"/>, <see cref="StageInvoker"/>, <see cref="ServingMetrics"/>); errors
/// are <c>{"error": "[stage] ..."}</c> with the status the GraphPipe door would answer.
/// </summary>
internal sealed class RestEndpoint(StageCatalog catalog, RequestBodyReader bodies, OpenInferenceInvoker invoker, HealthCheckService health,
    IOptions<GraphPipeServerOptions> options, TimeProvider time, ILogger<RestEndpoint> logger)
{
    private readonly bool _serverTiming = options.Value.ServerTiming;

    public Task ServerMetadataAsync(HttpContext context)
    {
        context.Features.Set(JsonErrors.Instance);
        return WriteJsonAsync(context, StatusCodes.Status200OK, static (json, _) =>
        {
            json.WriteString("name"u8, ServingMetrics.ServerName);
            json.WriteString("version"u8, ServerInfo.Version);
            json.WriteStartArray("extensions"u8);
            foreach (var extension in ServerInfo.Extensions)
            {
                json.WriteStringValue(extension);
            }

            json.WriteEndArray();
        }, (object?)null);
    }

    public Task ModelMetadataAsync(HttpContext context, string model, string? version)
    {
        context.Features.Set(JsonErrors.Instance);
        var stage = ModelLookup.Find(catalog, model, version, out var error);
        if (stage is null)
        {
            return ErrorResponse.WriteTextAsync(context, StatusCodes.Status404NotFound, error!);
        }

        return WriteJsonAsync(context, StatusCodes.Status200OK, static (json, stage) =>
        {
            var metadata = stage.Stage.Metadata;
            json.WriteString("name"u8, stage.Name);
            json.WriteStartArray("versions"u8);
            json.WriteStringValue(ModelLookup.VersionOf(stage));
            json.WriteEndArray();
            json.WriteString("platform"u8, ModelLookup.Platform);
            WriteTensors(json, "inputs"u8, metadata.Inputs);
            WriteTensors(json, "outputs"u8, metadata.Outputs);
        }, stage);
    }

    public async Task ModelReadyAsync(HttpContext context, string model, string? version)
    {
        context.Features.Set(JsonErrors.Instance);
        var stage = ModelLookup.Find(catalog, model, version, out var error);
        if (stage is null)
        {
            await ErrorResponse.WriteTextAsync(context, StatusCodes.Status404NotFound, error!).ConfigureAwait(false);
            return;
        }

        var ready = await ServerInfo.IsReadyAsync(health, context.RequestAborted).ConfigureAwait(false);
        await WriteJsonAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, static (json, state) =>
        {
            json.WriteString("name"u8, state.Name);
            json.WriteBoolean("ready"u8, state.Ready);
        }, (stage.Name, Ready: ready)).ConfigureAwait(false);
    }

    public async Task InferAsync(HttpContext context, string model, string? version)
    {
        context.Features.Set(JsonErrors.Instance);
        var stage = ModelLookup.Find(catalog, model, version, out var notFound);
        if (stage is null)
        {
            await ErrorResponse.WriteTextAsync(context, StatusCodes.Status404NotFound, notFound!).ConfigureAwait(false);
            return;
        }

        var started = time.GetTimestamp();
        using var span = ServingTelemetry.Source.StartActivity(stage.Name);
        span?.SetTag(ServingMetrics.StageTag, stage.Name);
        using var body = await bodies.ReadAsync(context, stage.Name).ConfigureAwait(false);
        if (body is null)
        {
            Record(stage, context, started, 0);
            return;
        }

        using var rentals = new RentedBuffers();
        try
        {
            var decodeStart = time.GetTimestamp();
            var headerLength = HeaderLength(context, out var headerError);
            var request = headerError is null ? JsonRequestReader.Read(body.Memory, headerLength, rentals, out headerError) : null;
            if (request is null)
            {
                await ErrorResponse.WriteTextAsync(context, StatusCodes.Status400BadRequest, $"[{stage.Name}] {headerError}").ConfigureAwait(false);
                return;
            }

            var decode = time.GetElapsedTime(decodeStart);
            var outcome = await invoker.InferAsync(stage, request.Request, context, callDeadline: null).ConfigureAwait(false);
            if (outcome.ClientGone)
            {
                return;
            }

            if (_serverTiming)
            {
                context.Response.Headers["Server-Timing"] = ServerTimingHeader.Format(decode, outcome.Queued, outcome.Run, null);
            }

            if (outcome.Error is { } error)
            {
                span?.SetStatus(ActivityStatusCode.Error, error.Kind.ToString());
                await WriteErrorAsync(context, stage, error).ConfigureAwait(false);
                return;
            }

            using var result = outcome.Result!;
            await RestResponseWriter.WriteAsync(context, stage.Name, ModelLookup.VersionOf(stage), request, outcome.OutputNames, result.Outputs).ConfigureAwait(false);
        }
        finally
        {
            Record(stage, context, started, body.Length);
        }
    }

    private static int HeaderLength(HttpContext context, out string? error)
    {
        error = null;
        var value = context.Request.Headers[OipParameters.HeaderLengthHeader];
        if (value.Count == 0)
        {
            return -1;
        }

        if (!int.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            error = $"header {OipParameters.HeaderLengthHeader} '{Echo.Name(value[0])}' is not a byte count";
            return -1;
        }

        return length;
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

    private static void Record(ServedStage stage, HttpContext context, long started, int requestBytes)
        => ServingMetrics.RecordRequest(stage.Name, context.Response.StatusCode, started, requestBytes, context.Response.ContentLength ?? 0);

    private static void WriteTensors(Utf8JsonWriter json, ReadOnlySpan<byte> property, IReadOnlyList<IOMetadata> tensors)
    {
        json.WriteStartArray(property);
        foreach (var io in tensors)
        {
            json.WriteStartObject();
            json.WriteString("name"u8, io.Name);
            json.WriteString("datatype"u8, ModelLookup.Datatype(io));
            json.WriteStartArray("shape"u8);
            foreach (var d in io.Shape.IsDefault ? [] : io.Shape)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static async Task WriteJsonAsync<TState>(HttpContext context, int status, Action<Utf8JsonWriter, TState> write, TState state)
    {
        using var buffer = new PooledBufferWriter(1024);
        using (var json = new Utf8JsonWriter(buffer, RestResponseWriter.Options))
        {
            json.WriteStartObject();
            write(json, state);
            json.WriteEndObject();
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
