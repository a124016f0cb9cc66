namespace GraphPipe.Pipelines;

/// <summary>
/// Reads a request's <c>config</c> as "where to go next" (hybrid sequencing). The plain form of the
/// original GraphPipe pipelines is one URL; several URLs separated by spaces or commas are hops:
/// the first is the next stage, the rest travel on as that stage's config.
/// </summary>
public static class PipelineConfig
{
    /// <summary>True when <paramref name="config"/> names a next stage; then <paramref name="next"/> is it and <paramref name="rest"/> the config to pass on.</summary>
    public static bool TryGetNextHop(string? config, out Uri? next, out string rest, out string? error)
    {
        next = null;
        rest = string.Empty;
        error = null;
        if (string.IsNullOrWhiteSpace(config))
        {
            return false;
        }

        var hops = config.Split([' ', ',', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!Uri.TryCreate(hops[0], UriKind.Absolute, out next) || (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps))
        {
            next = null;
            error = $"config '{Echo.Name(config)}' is not a next-stage URL (expected http(s)://host:port, optionally followed by further hops)";
            return false;
        }

        rest = string.Join(' ', hops.Skip(1));
        return true;
    }
}
