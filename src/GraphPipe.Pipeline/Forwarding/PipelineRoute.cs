namespace GraphPipe.Pipelines;

/// <summary>
/// A request's <c>config</c> read as "where to go next" (hybrid sequencing), parsed once per request.
/// The plain form of the original GraphPipe pipelines is one URL; several URLs separated by spaces or
/// commas are hops: the first is the next stage, the rest travel on as that stage's config.
/// </summary>
public sealed class PipelineRoute
{
    /// <summary>An empty config: no next stage named.</summary>
    public static readonly PipelineRoute None = new(null, string.Empty, null);

    private PipelineRoute(Uri? next, string rest, string? error)
    {
        Next = next;
        Rest = rest;
        Error = error;
    }

    /// <summary>The next stage the request names, or null.</summary>
    public Uri? Next { get; }

    /// <summary>The config to pass on to <see cref="Next"/> (the remaining hops).</summary>
    public string Rest { get; }

    /// <summary>Why a non-empty config is not a route, or null.</summary>
    public string? Error { get; }

    public static PipelineRoute Parse(string? config)
    {
        if (string.IsNullOrWhiteSpace(config))
        {
            return None;
        }

        var hops = config.Split([' ', ',', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!Uri.TryCreate(hops[0], UriKind.Absolute, out var next) || (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps))
        {
            return new(null, string.Empty, $"config '{Echo.Name(config)}' is not a next-stage URL (expected http(s)://host:port, optionally followed by further hops)");
        }

        return new(next, string.Join(' ', hops.Skip(1)), null);
    }
}
