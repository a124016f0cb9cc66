using System.Text;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.Server.Serving;

/// <summary>Plain-text error responses: every one names the stage, none is empty.</summary>
internal static class ErrorResponse
{
    public const string TextPlain = "text/plain; charset=utf-8";

    /// <param name="size">The body's exact size when known; null when reading stopped at the limit.</param>
    public static Task WriteTooLargeAsync(HttpContext context, string stageName, long? size, long max)
    {
        ServingMetrics.Rejected.Add(1, new KeyValuePair<string, object?>("graphpipe.stage", stageName), new KeyValuePair<string, object?>("reason", "too_large"));
        var what = size is { } exact ? $"{exact} bytes" : $"more than {max} bytes";
        return WriteTextAsync(context, StatusCodes.Status413PayloadTooLarge, $"[{stageName}] request body of {what} exceeds the limit of {max} bytes (MaxRequestBytes)");
    }

    /// <summary>
    /// Writes the error as plain text, or as <c>{"error": "..."}</c> when the endpoint marked the request
    /// with <see cref="JsonErrors"/> (the Open Inference Protocol's form), so the host's own errors (413,
    /// 408) take each protocol's form without a second copy of the code that raises them.
    /// </summary>
    public static Task WriteTextAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = status;
        if (context.Features.Get<JsonErrors>() is not null)
        {
            var json = JsonErrors.Encode(message);
            context.Response.ContentType = JsonErrors.ContentType;
            context.Response.ContentLength = json.Length;
            return context.Response.Body.WriteAsync(json, context.RequestAborted).AsTask();
        }

        context.Response.ContentType = TextPlain;
        return context.Response.WriteAsync(message, Encoding.UTF8, context.RequestAborted);
    }
}
