namespace GraphPipe.Stages;

/// <summary>How a stage failed; the front door maps each kind to one HTTP status.</summary>
public enum StageErrorKind
{
    /// <summary>The request is wrong (type, shape, name, content): HTTP 400.</summary>
    InvalidInput,
    /// <summary>A stage this one calls failed or answered an error: HTTP 502.</summary>
    Upstream,
    /// <summary>The stage is overloaded or not ready: HTTP 503.</summary>
    Unavailable,
    /// <summary>The stage or a stage it calls ran out of time: HTTP 504.</summary>
    Timeout,
    /// <summary>A fault inside the stage: HTTP 500.</summary>
    Internal,
}

/// <summary>An expected failure of a stage, with a message naming the stage and field at fault.</summary>
public sealed record StageError(StageErrorKind Kind, string Message);

/// <summary>
/// The outcome of <see cref="IInferenceStage.InferAsync"/>: outputs in the requested order, or an error.
/// Outputs may point into memory the stage owns (e.g. native runtime buffers); disposing the result
/// releases it, so the caller disposes after it has written the outputs.
/// </summary>
public sealed class StageResult : IDisposable
{
    private IDisposable? _owner;

    private StageResult(IReadOnlyList<Tensor> outputs, StageError? error, IDisposable? owner)
    {
        Outputs = outputs;
        Error = error;
        _owner = owner;
    }

    public IReadOnlyList<Tensor> Outputs { get; }

    public StageError? Error { get; }

    public bool IsSuccess => Error is null;

    public static StageResult Success(IReadOnlyList<Tensor> outputs, IDisposable? owner = null)
        => new(outputs ?? throw new ArgumentNullException(nameof(outputs)), null, owner);

    public static StageResult Failure(StageErrorKind kind, string message) => new([], new StageError(kind, message), null);

    public static StageResult Failure(StageError error) => new([], error, null);

    public void Dispose()
    {
        Interlocked.Exchange(ref _owner, null)?.Dispose();
    }
}
