namespace GraphPipe.Pipelines;

/// <summary>
/// Resolves next stages named in a request's config (hybrid sequencing) to GraphPipe HTTP targets, after
/// checking them against a <see cref="NetworkPolicy"/>; the HttpClient's handler should enforce the same
/// policy at connect time (<see cref="NetworkPolicy.CreateHandler"/>), which also covers DNS answers.
/// </summary>
public sealed class GraphPipeNextStageResolver(HttpClient httpClient, NetworkPolicy policy) : INextStageResolver
{
    public INextStage? Resolve(Uri next, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(next);
        refusal = policy.CheckUri(next);
        return refusal is null ? new GraphPipeNextStage(httpClient, next) : null;
    }
}
