namespace GraphPipe.Pipelines;

/// <summary>
/// A request's <c>config</c> read as "where to go next" (hybrid sequencing), parsed once per request.
/// The plain form of the original GraphPipe pipelines is one URL; several hops are separated by spaces or
/// commas: the first is the next stage, the rest travel on as that stage's config. One hop may name
/// several replicas separated by <c>|</c> (<c>http://10.0.0.1:9000|http://10.0.0.2:9000</c>) and/or
/// <c>dns:///name:port</c>: the next stage balances over them (see docs/load-balancing.md).
/// </summary>
public sealed class PipelineRoute
{
    /// <summary>Separates the replicas of one hop.</summary>
    public const char ReplicaSeparator = '|';

    /// <summary>An empty config: no next stage named.</summary>
    public static readonly PipelineRoute None = new(null, null, [], string.Empty, null);

    private PipelineRoute(Uri? next, string? nextHop, string[] endpoints, string rest, string? error)
    {
        Next = next;
        NextHop = nextHop;
        NextEndpoints = endpoints;
        Rest = rest;
        Error = error;
    }

    /// <summary>The next stage the request names (its first replica; for <c>dns:///name:port</c>, <c>http://name:port/</c>), or null.</summary>
    public Uri? Next { get; }

    /// <summary>The next hop as written: one URL, or its replicas separated by <c>|</c>; null when none is named.</summary>
    public string? NextHop { get; }

    /// <summary>The next hop's replicas as written (URLs and/or <c>dns:///name:port</c>); one entry for a plain URL.</summary>
    public IReadOnlyList<string> NextEndpoints { get; }

    /// <summary>Whether the next hop names more than one URL or a DNS name (balanced, with passive health and retries).</summary>
    public bool IsReplicated => NextEndpoints.Count > 1 || (Next is not null && NextEndpoints[0].StartsWith("dns:", StringComparison.Ordinal));

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
        var endpoints = hops[0].Split(ReplicaSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Uri? first = null;
        foreach (var endpoint in endpoints)
        {
            if (Endpoint(endpoint) is not { } uri)
            {
                var what = endpoints.Length > 1 ? $"endpoint '{Echo.Name(endpoint)}' of next stage '{Echo.Name(hops[0])}'" : $"'{Echo.Name(config)}'";
                return new(null, null, [], string.Empty, $"config {what} is not a next-stage URL (expected http(s)://host:port or dns:///name:port, replicas separated by '|', optionally followed by further hops)");
            }

            first ??= uri;
        }

        if (first is null)
        {
            return new(null, null, [], string.Empty, $"config '{Echo.Name(config)}' names no next-stage URL");
        }

        return new(first, hops[0], endpoints, string.Join(' ', hops.Skip(1)), null);
    }

    /// <summary>An entry as the URL it is called at (<c>dns:///name:port/path</c> as <c>http://name:port/path</c>), or null when it is neither.</summary>
    private static Uri? Endpoint(string entry)
    {
        if (!Uri.TryCreate(entry, UriKind.Absolute, out var uri))
        {
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        {
            return uri;
        }

        return uri.Scheme == "dns" && uri.Authority.Length == 0 && Uri.TryCreate("http://" + uri.AbsolutePath.TrimStart('/'), UriKind.Absolute, out var named) && named.Host.Length > 0
            ? named
            : null;
    }
}
