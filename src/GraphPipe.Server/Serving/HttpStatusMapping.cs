using GraphPipe.Stages;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.Server;

/// <summary>The one place where stage error kinds become HTTP statuses.</summary>
internal static class HttpStatusMapping
{
    public static int ToStatusCode(StageErrorKind kind) => kind switch
    {
        StageErrorKind.InvalidInput => StatusCodes.Status400BadRequest,
        StageErrorKind.Upstream => StatusCodes.Status502BadGateway,
        StageErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StageErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };
}
