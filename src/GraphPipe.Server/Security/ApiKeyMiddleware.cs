using GraphPipe.Server.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace GraphPipe.Server.Security;

/// <summary>Rejects requests without a valid <c>Authorization: Bearer KEY</c> before anything reads their body.</summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeyVerifier verifier, StageCatalog catalog)
{
    private const string Scheme = "Bearer ";

    /// <summary>Paths served without a key: the health endpoints, for load balancers' and Kubernetes' probes.</summary>
    internal static readonly string[] OpenPaths = ["/control/is_alive", "/control/is_ready", "/v2/health/live", "/v2/health/ready",
        // The same two on the OIP gRPC listener (Kubernetes gRPC probes, grpc_health_probe-style checks).
        "/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady"];

    public Task InvokeAsync(HttpContext context)
    {
        if (IsOpen(context.Request.Path))
        {
            return next(context);
        }

        var header = context.Request.Headers.Authorization;
        if (header.Count == 1 && TryGetToken(header, out var token) && verifier.IsValid(token))
        {
            return next(context);
        }

        return RejectAsync(context, presented: header.Count > 0);
    }

    private bool IsOpen(PathString path)
    {
        foreach (var open in OpenPaths)
        {
            if (path.Equals(open, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return verifier.AllowAnonymousMetrics && path.Equals("/metrics", StringComparison.OrdinalIgnoreCase);
    }

    private static bool TryGetToken(StringValues header, out ReadOnlySpan<char> token)
    {
        var value = header[0].AsSpan().Trim();
        if (value.Length > Scheme.Length && value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            token = value[Scheme.Length..].Trim();
            return true;
        }

        token = default;
        return false;
    }

    private Task RejectAsync(HttpContext context, bool presented)
    {
        context.Response.Headers.WWWAuthenticate = presented
            ? "Bearer realm=\"graphpipe\", error=\"invalid_token\""
            : "Bearer realm=\"graphpipe\"";
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            // The body is never read: closing the connection spares Kestrel draining it.
            context.Response.Headers.Connection = "close";
        }

        var stage = catalog.Default.Name;
        var message = presented
            ? $"[{stage}] API key not accepted (header Authorization): send Authorization: Bearer <key> with a key of this stage's --api-key-file"
            : $"[{stage}] API key required (header Authorization): send Authorization: Bearer <key>; this stage was started with an API key";
        if (context.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase))
        {
            // A gRPC call (the OIP gRPC listener): a trailers-only response with UNAUTHENTICATED, which gRPC clients read as the call's status.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "16";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return Task.CompletedTask;
        }

        return ErrorResponse.WriteTextAsync(context, StatusCodes.Status401Unauthorized, message);
    }
}

/// <summary>Puts <see cref="ApiKeyMiddleware"/> first in the host's pipeline, before routing and every endpoint.</summary>
internal sealed class ApiKeyStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ApiKeyMiddleware>();
        next(app);
    };
}
