using GraphPipe.Reloading;
using GraphPipe.Server.GraphPipeProtocol;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.Server.Serving;

/// <summary><c>/{name}/versions/{version}</c>: one version of a versioned stage, or 404 naming the versions there are.</summary>
internal static class VersionRoute
{
    public static Task HandleAsync(HttpContext context, GraphPipeEndpoint endpoint, ServedStage stage)
    {
        var version = (string)context.Request.RouteValues["version"]!;
        return stage.ForVersion(version) is { } served
            ? endpoint.HandleAsync(context, served)
            : ErrorResponse.WriteTextAsync(context, StatusCodes.Status404NotFound, $"[{stage.Name}] no version '{version}' (versions: {string.Join(", ", ((IVersionedStage)stage.Stage).Versions)})");
    }
}
