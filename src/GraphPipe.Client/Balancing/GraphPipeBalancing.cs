namespace GraphPipe.Client.Balancing;

/// <summary>
/// Builds the outbound handler chain for replicated stages: retry (<see cref="BalancingRetry"/>) ->
/// balancing (<see cref="BalancingHandler"/>) -> the transport. Use it with <see cref="GraphPipeClient"/>:
/// <code>
/// using var model = EndpointGroup.Parse("http://10.0.0.1:9000,http://10.0.0.2:9000");
/// using var http = new HttpClient(GraphPipeBalancing.CreateHandler([model]));
/// var client = new GraphPipeClient(http, model.Address);
/// </code>
/// </summary>
public static class GraphPipeBalancing
{
    /// <param name="groups">The replicated stages; requests for other addresses pass through unchanged.</param>
    /// <param name="primary">The transport (default: a pooled <see cref="SocketsHttpHandler"/>); owned by the chain.</param>
    /// <param name="retry">Retry options (default: those of the first group).</param>
    public static HttpMessageHandler CreateHandler(IReadOnlyList<EndpointGroup> groups, HttpMessageHandler? primary = null, BalancingOptions? retry = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var options = retry ?? (groups.Count > 0 ? groups[0].Options : new BalancingOptions());
        HttpMessageHandler chain = new BalancingHandler(groups) { InnerHandler = primary ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } };
        if (BalancingRetry.CreateHandler(options) is { } retrying)
        {
            retrying.InnerHandler = chain;
            chain = retrying;
        }

        return chain;
    }
}
