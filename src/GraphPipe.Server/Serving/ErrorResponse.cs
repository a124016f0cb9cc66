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

    public static Task WriteTextAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = TextPlain;
        return context.Response.WriteAsync(message, Encoding.UTF8, context.RequestAborted);
    }
}
