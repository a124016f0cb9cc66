using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.Server;

/// <summary>
/// A next stage in the same host, called directly: the outputs of one stage become the inputs of the
/// next with no HTTP hop and no copy, bound by the same rules its GraphPipe endpoint would apply.
/// </summary>
internal sealed class InProcessNextStage(string name, IInferenceStage stage) : INextStage
{
    public string Target { get; } = "in-process:" + name;

    public ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, CancellationToken cancellationToken)
        => SendAsync(inputs, outputNames, config, StageDeadline.None, cancellationToken);

    /// <summary>The same process, the same deadline: the next stage sees the request's own.</summary>
    public ValueTask<StageResult> SendAsync(IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config, StageDeadline deadline, CancellationToken cancellationToken)
    {
        var bound = RequestBinder.Bind(new InferRequest { Inputs = inputs, OutputNames = outputNames, Config = config }, stage.Metadata, [], [], out var error,
            passThroughOutputs: stage is IForwardingStage forwarding && forwarding.WillForward(PipelineRoute.Parse(config)));
        if (bound is null)
        {
            return ValueTask.FromResult(StageResult.Failure(error!.Kind, $"next stage {name}: {error.Message}"));
        }

        bound.Deadline = deadline;
        return stage.InferAsync(bound, cancellationToken);
    }
}
