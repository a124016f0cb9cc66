using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Serving;

/// <summary>
/// The one bounded body reader of every protocol endpoint. It runs before admission, under its own
/// deadline, so a slow upload costs a connection and at most the size limit in memory but holds no
/// concurrency slot; the request's own timeout starts once the body is in.
/// </summary>
internal sealed class RequestBodyReader(IOptions<GraphPipeServerOptions> options, TimeProvider time, ILogger<RequestBodyReader> logger)
{
    private readonly GraphPipeServerOptions _options = options.Value;

    /// <summary>The whole body, or null when an error response (413, 408, 400) was written or the client went away.</summary>
    public async ValueTask<PooledBody?> ReadAsync(HttpContext context, string stageName)
    {
        var max = _options.MaxRequestBytes;
        var declared = context.Request.ContentLength;
        if (declared > max)
        {
            // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
            await ErrorResponse.WriteTooLargeAsync(context, stageName, declared.Value, max).ConfigureAwait(false);
            return null;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = max;
        }

        // Stryker disable once Conditional : a deadline of InfiniteTimeSpan never fires, so taking the timed branch for it changes nothing
        using var deadline = _options.BodyReadTimeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(_options.BodyReadTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, context.RequestAborted);
        var buffer = BodyBuffers.Rent((int)Math.Min(declared ?? 64 * 1024, max) + 1);
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
                        BodyBuffers.Return(buffer);
                        // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
                        await ErrorResponse.WriteTooLargeAsync(context, stageName, null, max).ConfigureAwait(false);
                        return null;
                    }

                    var bigger = BodyBuffers.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    BodyBuffers.Return(buffer);
                    buffer = bigger;
                }

                // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
                var read = await stream.ReadAsync(buffer.AsMemory(length), linked.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            if (length > max)
            {
                BodyBuffers.Return(buffer);
                // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
                await ErrorResponse.WriteTooLargeAsync(context, stageName, length, max).ConfigureAwait(false);
                return null;
            }

            return new PooledBody(buffer, length);
        }
        catch (BadHttpRequestException ex)
        {
            BodyBuffers.Return(buffer);
            if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
                await ErrorResponse.WriteTooLargeAsync(context, stageName, null, max).ConfigureAwait(false);
            }
            else
            {
                // Kestrel's minimum data rate ends a trickling upload this way (408).
                // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
                await ErrorResponse.WriteTextAsync(context, ex.StatusCode, $"[{stageName}] could not read the request body: {ex.Message}").ConfigureAwait(false);
            }

            return null;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            BodyBuffers.Return(buffer);
            Log.BodyTooSlow(logger, stageName, _options.BodyReadTimeout.TotalSeconds);
            ServingMetrics.Rejected.Add(1, new KeyValuePair<string, object?>("graphpipe.stage", stageName), new KeyValuePair<string, object?>("reason", "body_timeout"));
            context.Response.Headers.Connection = "close";
            // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
            await ErrorResponse.WriteTextAsync(context, StatusCodes.Status408RequestTimeout,
                $"[{stageName}] request body not received within {_options.BodyReadTimeout.TotalSeconds:0.###} s ({length} bytes arrived)").ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            BodyBuffers.Return(buffer);
            Log.ClientGone(logger);
            return null;
        }
    }
}
