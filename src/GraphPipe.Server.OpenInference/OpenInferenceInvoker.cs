using GraphPipe.Pipelines;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.Server.OpenInference;

/// <summary>What running one OIP inference gave: outputs (named), an error, or nothing when the client went away.</summary>
internal readonly record struct OipOutcome(StageResult? Result, StageError? Error, IReadOnlyList<string> OutputNames, TimeSpan Queued, TimeSpan Run)
{
    public bool ClientGone => Result is null && Error is null;
}

/// <summary>
/// The middle both OIP doors share: the route is parsed once (<see cref="PipelineRoute"/>, from the
/// <c>graphpipe_next</c> parameter), the request is bound by GraphPipe's rules (<see cref="RequestBinder"/>),
/// and the host's <see cref="StageInvoker"/> admits and runs it, as for the GraphPipe door.
/// </summary>
internal sealed class OpenInferenceInvoker(StageInvoker invoker)
{
    public async ValueTask<OipOutcome> InferAsync(ServedStage stage, InferRequest request, HttpContext context, TimeSpan? callDeadline)
    {
        var route = PipelineRoute.Parse(request.Config);
        var bound = RequestBinder.Bind(request, stage.Stage.Metadata, stage.DefaultInputs, stage.DefaultOutputs, out var bindError,
            passThroughOutputs: stage.ForwardsOutputs(route));
        if (bound is null)
        {
            return new(null, bindError, [], default, default);
        }

        bound.Route = route;
        var outcome = await invoker.InvokeAsync(stage, bound, context, callDeadline).ConfigureAwait(false);
        if (outcome.Result is { IsSuccess: false } failed)
        {
            failed.Dispose();
            return new(null, failed.Error, bound.OutputNames, outcome.Queued, outcome.Run);
        }

        return new(outcome.Result, outcome.Error, bound.OutputNames, outcome.Queued, outcome.Run);
    }
}
