using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using GraphPipe.Stages;
using GraphPipe.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server;

/// <summary>
/// The GraphPipe front door: answers POST on any path with the reference servers' semantics
/// (inference or metadata), GET with metadata as JSON, and applies the size limit, the bounded
/// queue and the request timeout around the stage.
/// </summary>
internal sealed partial class GraphPipeFrontDoor : IDisposable
{
    private const string TextPlain = "text/plain; charset=utf-8";
    private const string OctetStream = "application/octet-stream";

    private readonly IInferenceStage _stage;
    private readonly GraphPipeServerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrencyLimiter _limiter;
    private readonly string _stageName;

    public GraphPipeFrontDoor(IInferenceStage stage, IOptions<GraphPipeServerOptions> options, ILogger<GraphPipeFrontDoor> logger, TimeProvider time)
    {
        _stage = stage;
        _options = options.Value;
        _options.Validate();
        _logger = logger;
        _time = time;
        _stageName = string.IsNullOrEmpty(stage.Metadata.Name) ? "stage" : stage.Metadata.Name;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _options.MaxConcurrentRequests,
            QueueLimit = _options.MaxQueuedRequests,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public void Dispose() => _limiter.Dispose();

    public Task HandleAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsPost(method))
        {
            return HandlePostAsync(context);
        }

        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return WriteMetadataJsonAsync(context);
        }

        context.Response.Headers.Allow = "GET, HEAD, POST";
        return WriteTextAsync(context, StatusCodes.Status405MethodNotAllowed, $"method {method} is not supported: POST a GraphPipe request, or GET for metadata");
    }

    private async Task HandlePostAsync(HttpContext context)
    {
        var started = _time.GetTimestamp();
        using var lease = await _limiter.AcquireAsync(1, context.RequestAborted).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            GraphPipeMetrics.Rejected.Add(1);
            Log.QueueFull(_logger, _options.MaxQueuedRequests);
            context.Response.Headers.RetryAfter = "1";
            await WriteTextAsync(context, StatusCodes.Status503ServiceUnavailable, $"[{_stageName}] server busy: {_options.MaxConcurrentRequests} requests running and {_options.MaxQueuedRequests} queued; retry later").ConfigureAwait(false);
            return;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body.Array is null)
        {
            return; // an error response was written
        }

        try
        {
            if (!GraphPipeReader.TryReadRequest(body.Memory, out var request, out var parseError))
            {
                await WriteTextAsync(context, StatusCodes.Status400BadRequest, $"[{_stageName}] {parseError}").ConfigureAwait(false);
                return;
            }

            if (request.Kind != RequestKind.Infer)
            {
                await WriteMetadataAsync(context).ConfigureAwait(false);
                return;
            }

            await InferAsync(context, request.Infer!).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Array);
            GraphPipeMetrics.Duration.Record(_time.GetElapsedTime(started).TotalSeconds);
        }
    }

    private async Task InferAsync(HttpContext context, InferRequest request)
    {
        var metadata = _stage.Metadata;
        var bound = RequestBinder.Bind(request, metadata, (IReadOnlyList<string>)_options.DefaultInputs, (IReadOnlyList<string>)_options.DefaultOutputs, out var bindError,
            passThroughOutputs: _stage is IForwardingStage forwarding && forwarding.WillForward(request.Config));
        if (bound is null)
        {
            await WriteErrorAsync(context, bindError!).ConfigureAwait(false);
            return;
        }

        using var timeout = _options.RequestTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.RequestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.RequestAborted);
        StageResult result;
        try
        {
            result = await _stage.InferAsync(bound, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            await WriteErrorAsync(context, new StageError(StageErrorKind.Timeout, $"did not finish within {_options.RequestTimeout.TotalSeconds:0.###} s")).ConfigureAwait(false);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            Log.ClientGone(_logger);
            return;
        }
        catch (Exception ex)
        {
            Log.StageFailed(_logger, _stageName, ex);
            await WriteErrorAsync(context, new StageError(StageErrorKind.Internal, $"internal error: {ex.Message}")).ConfigureAwait(false);
            return;
        }

        using (result)
        {
            if (!result.IsSuccess)
            {
                await WriteErrorAsync(context, result.Error!).ConfigureAwait(false);
                return;
            }

            var writer = GraphPipeWriter.Rent();
            try
            {
                var payload = writer.WriteInferResponse(result.Outputs);
                GraphPipeMetrics.Requests.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
                await WriteBytesAsync(context, payload).ConfigureAwait(false);
            }
            finally
            {
                GraphPipeWriter.Return(writer);
            }
        }
    }

    private async Task WriteMetadataAsync(HttpContext context)
    {
        var writer = GraphPipeWriter.Rent();
        try
        {
            await WriteBytesAsync(context, writer.WriteMetadataResponse(WithServerName(_stage.Metadata))).ConfigureAwait(false);
        }
        finally
        {
            GraphPipeWriter.Return(writer);
        }
    }

    private async Task<(byte[]? Array, ReadOnlyMemory<byte> Memory)> ReadBodyAsync(HttpContext context)
    {
        var max = _options.MaxRequestBytes;
        var declared = context.Request.ContentLength;
        if (declared > max)
        {
            await WriteTooLargeAsync(context, declared.Value).ConfigureAwait(false);
            return default;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = max;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(declared ?? 64 * 1024, max) + 1);
        var length = 0;
        try
        {
            var stream = context.Request.Body;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        await WriteTooLargeAsync(context, null).ConfigureAwait(false);
                        return default;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            if (length > max)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                await WriteTooLargeAsync(context, length).ConfigureAwait(false);
                return default;
            }

            return (buffer, buffer.AsMemory(0, length));
        }
        catch (BadHttpRequestException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await WriteTooLargeAsync(context, null).ConfigureAwait(false);
            }
            else
            {
                await WriteTextAsync(context, ex.StatusCode, $"[{_stageName}] could not read the request body: {ex.Message}").ConfigureAwait(false);
            }

            return default;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Log.ClientGone(_logger);
            return default;
        }
    }

    /// <param name="size">The body's exact size when known (Content-Length or fully read); null when reading stopped at the limit.</param>
    private Task WriteTooLargeAsync(HttpContext context, long? size)
    {
        GraphPipeMetrics.Requests.Add(1, new KeyValuePair<string, object?>("outcome", "too_large"));
        var what = size is { } exact ? $"{exact} bytes" : $"more than {_options.MaxRequestBytes} bytes";
        return WriteTextAsync(context, StatusCodes.Status413PayloadTooLarge, $"[{_stageName}] request body of {what} exceeds the limit of {_options.MaxRequestBytes} bytes (set --max-request-bytes)");
    }

    private Task WriteErrorAsync(HttpContext context, StageError error)
    {
        var status = HttpStatusMapping.ToStatusCode(error.Kind);
        GraphPipeMetrics.Requests.Add(1, new KeyValuePair<string, object?>("outcome", error.Kind.ToString()));
        if (status >= 500)
        {
            Log.InferenceFailed(_logger, _stageName, status, error.Message);
        }

        return WriteTextAsync(context, status, $"[{_stageName}] {error.Message}");
    }

    private static async Task WriteBytesAsync(HttpContext context, ReadOnlyMemory<byte> payload)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = OctetStream;
        response.ContentLength = payload.Length;
        await response.Body.WriteAsync(payload, context.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = TextPlain;
        return context.Response.WriteAsync(message, Encoding.UTF8, context.RequestAborted);
    }

    private async Task WriteMetadataJsonAsync(HttpContext context)
    {
        var metadata = WithServerName(_stage.Metadata);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", metadata.Name);
            json.WriteString("version", metadata.Version);
            json.WriteString("server", metadata.Server);
            json.WriteString("description", metadata.Description);
            WriteIo(json, "inputs", metadata.Inputs);
            WriteIo(json, "outputs", metadata.Outputs);
            json.WriteEndObject();
        }

        context.Response.ContentLength = buffer.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
        }

        static void WriteIo(Utf8JsonWriter json, string name, IReadOnlyList<IOMetadata> items)
        {
            json.WriteStartArray(name);
            foreach (var io in items)
            {
                json.WriteStartObject();
                json.WriteString("name", io.Name);
                json.WriteString("description", io.Description);
                json.WriteStartArray("shape");
                foreach (var d in io.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteString("type", io.Type.ToWireName());
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
    }

    private static MetadataResponse WithServerName(MetadataResponse metadata)
        => !string.IsNullOrEmpty(metadata.Server) ? metadata : new MetadataResponse
        {
            Name = metadata.Name,
            Version = metadata.Version,
            Server = GraphPipeMetrics.ServerName,
            Description = metadata.Description,
            Inputs = metadata.Inputs,
            Outputs = metadata.Outputs,
        };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "QueueFull", Level = LogLevel.Warning, Message = "Request rejected: queue of {QueueLimit} is full")]
        public static partial void QueueFull(ILogger logger, int queueLimit);

        [LoggerMessage(EventId = 2, EventName = "StageFailed", Level = LogLevel.Error, Message = "Stage {Stage} threw")]
        public static partial void StageFailed(ILogger logger, string stage, Exception exception);

        [LoggerMessage(EventId = 3, EventName = "InferenceFailed", Level = LogLevel.Warning, Message = "Stage {Stage} answered {Status}: {Error}")]
        public static partial void InferenceFailed(ILogger logger, string stage, int status, string error);

        [LoggerMessage(EventId = 4, EventName = "ClientGone", Level = LogLevel.Debug, Message = "Client went away before the response")]
        public static partial void ClientGone(ILogger logger);
    }
}
