using GraphPipe.Pipelines;

namespace GraphPipe.Stages;

/// <summary>
/// A stage that may pass its outputs on to a next stage. When it will, the request's output names
/// are the final stage's, so the front door passes them through instead of checking them against
/// this stage's outputs.
/// </summary>
public interface IForwardingStage : IInferenceStage
{
    /// <summary>Whether a request with this route will be forwarded to another stage.</summary>
    bool WillForward(PipelineRoute route);
}
