namespace GraphPipe.Stages;

/// <summary>
/// A pipeline stage: named tensors in, named tensors out, plus metadata. Protocol-neutral: the GraphPipe
/// front door (and any other) binds wire requests onto this interface.
/// </summary>
public interface IInferenceStage
{
    /// <summary>Describes the stage's inputs and outputs; the first inputs/outputs are the defaults.</summary>
    StageMetadata Metadata { get; }

    /// <summary>
    /// Runs the stage. Expected failures (bad input, an unreachable next stage) come back as
    /// <see cref="StageResult.Failure(StageErrorKind, string)"/>, not exceptions.
    /// </summary>
    ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken);
}
