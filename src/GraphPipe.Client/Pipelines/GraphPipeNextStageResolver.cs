using GraphPipe.Client.Balancing;

namespace GraphPipe.Pipelines;

/// <summary>
/// Resolves next stages named in a request's config (hybrid sequencing) to GraphPipe HTTP targets, after
/// checking them against a <see cref="NetworkPolicy"/>; the HttpClient's handler should enforce the same
/// policy at connect time (<see cref="NetworkPolicy.CreateHandler"/>), which also covers DNS answers.
/// A hop naming several replicas (<c>http://a:9000|http://b:9000</c>, <c>dns:///name:port</c>) goes through
/// <c>balanced</c>, a client whose handlers are <see cref="BalancingRetry"/> and <see cref="BalancingHandler"/>
/// over the same policy-checked transport; every URL of the list is checked before anything is sent.
/// </summary>
public sealed class GraphPipeNextStageResolver : INextStageResolver
{
    private readonly HttpClient _httpClient;
    private readonly NetworkPolicy _policy;
    private readonly HttpClient? _balanced;
    private readonly NextHopGroups? _groups;

    public GraphPipeNextStageResolver(HttpClient httpClient, NetworkPolicy policy)
        : this(httpClient, policy, null, null)
    {
    }

    /// <param name="balanced">The client for replicated hops (retry, balancing, the policy-checked transport); null refuses replica lists.</param>
    /// <param name="groups">Where replicated hops keep their health across requests.</param>
    public GraphPipeNextStageResolver(HttpClient httpClient, NetworkPolicy policy, HttpClient? balanced, NextHopGroups? groups)
    {
        _httpClient = httpClient ?? throw new ArgumentNullException(nameof(httpClient));
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _balanced = balanced;
        _groups = groups;
    }

    public INextStage? Resolve(Uri next, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(next);
        refusal = _policy.CheckUri(next);
        return refusal is null ? new GraphPipeNextStage(_httpClient, next) : null;
    }

    public INextStage? Resolve(PipelineRoute route, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.Next is not { } next)
        {
            refusal = "the request's config names no next stage";
            return null;
        }

        if (!route.IsReplicated)
        {
            return Resolve(next, out refusal);
        }

        if (_balanced is null || _groups is null)
        {
            refusal = "this stage takes one URL per next hop (no replica lists)";
            return null;
        }

        foreach (var entry in route.NextEndpoints)
        {
            // dns:/// entries: every address the name resolves to is checked when connecting.
            if (!entry.StartsWith(EndpointGroup.DnsScheme + ":", StringComparison.Ordinal)
                && Uri.TryCreate(entry, UriKind.Absolute, out var uri)
                && _policy.CheckUri(uri) is { } refused)
            {
                refusal = $"endpoint {Echo.Name(entry)} refused: {refused}";
                return null;
            }
        }

        var group = _groups.Get(route.NextHop!, out var error);
        if (group is null)
        {
            refusal = error;
            return null;
        }

        refusal = null;
        return new GraphPipeNextStage(_balanced, group);
    }
}
