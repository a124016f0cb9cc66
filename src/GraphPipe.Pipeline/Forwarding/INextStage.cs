using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>
/// Where a forwarding stage sends its outputs: a stage over the network (the client layer's GraphPipe
/// transport) or one in the same process (the serving host's). Failures come back as results, not exceptions.
/// </summary>
public interface INextStage
{
    /// <summary>How the target is named in errors, traces and metrics (e.g. <c>127.0.0.1:9000</c>).</summary>
    string Target { get; }

    /// <summary>Runs the next stage on <paramref name="inputs"/>; the result owns its outputs.</summary>
    ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="SendAsync(IReadOnlyList{Tensor}, IReadOnlyList{string}, string, CancellationToken)"/>, within
    /// the request's <paramref name="deadline"/>: a remote next stage is told the time left (the
    /// <c>GraphPipe-Timeout</c> header), a retrying one retries only while time is left. By default the
    /// deadline is only enforced through <paramref name="cancellationToken"/>.
    /// </summary>
    ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, StageDeadline deadline, CancellationToken cancellationToken)
        => SendAsync(inputs, outputNames, config, cancellationToken);
}

/// <summary>Turns a next-stage URL named in a request (hybrid sequencing) into a target, or refuses it.</summary>
public interface INextStageResolver
{
    /// <summary>The target for <paramref name="next"/>, or null with the reason (e.g. the SSRF policy refuses the address).</summary>
    INextStage? Resolve(Uri next, out string? refusal);

    /// <summary>
    /// The target for the next hop of <paramref name="route"/>, which may name several replicas
    /// (<see cref="PipelineRoute.NextEndpoints"/>), each of which must be allowed; null with the reason
    /// (naming the refused endpoint) otherwise. By default only <see cref="PipelineRoute.Next"/> is resolved.
    /// </summary>
    INextStage? Resolve(PipelineRoute route, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(route);
        if (route.Next is null)
        {
            refusal = "the request's config names no next stage";
            return null;
        }

        if (route.IsReplicated)
        {
            refusal = "this stage takes one URL per next hop (no replica lists)";
            return null;
        }

        return Resolve(route.Next, out refusal);
    }
}
