using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe;

/// <summary>
/// Composes a stage with decorators, the way Polly composes strategies: start from the stage that
/// computes, add decorators in order (each wraps everything added before it), then <see cref="Build"/>.
/// <code>
/// var served = new StagePipelineBuilder(onnx).AddTopKLabels(labels, k: 5).AddForwarding(next, null).Build();
/// </code>
/// </summary>
public sealed class StagePipelineBuilder
{
    private readonly List<Func<IInferenceStage, IInferenceStage>> _decorators = [];
    private readonly IInferenceStage _core;

    public StagePipelineBuilder(IInferenceStage core) => _core = core ?? throw new ArgumentNullException(nameof(core));

    /// <summary>Adds a decorator around what has been added so far.</summary>
    public StagePipelineBuilder Add(Func<IInferenceStage, IInferenceStage> decorator)
    {
        ArgumentNullException.ThrowIfNull(decorator);
        _decorators.Add(decorator);
        return this;
    }

    /// <summary>Adds <c>top_labels</c>/<c>top_scores</c> outputs computed from a score output (see <see cref="TopKLabelsStage"/>).</summary>
    public StagePipelineBuilder AddTopKLabels(IReadOnlyList<string> labels, int k = 5, string? sourceOutput = null)
        => Add(inner => new TopKLabelsStage(inner, labels, k, sourceOutput));

    /// <summary>Passes the outputs on to a next stage (see <see cref="ForwardingStage"/>).</summary>
    public StagePipelineBuilder AddForwarding(INextStage? next, INextStageResolver? fromConfig)
        => Add(inner => new ForwardingStage(inner, next, fromConfig));

    /// <summary>Answers repeated requests from <paramref name="store"/> without running what was added before (see <see cref="Caching.CachingStage"/>).</summary>
    public StagePipelineBuilder AddResponseCache(Caching.IResponseCacheStore store, string? scope = null)
        => Add(inner => new Caching.CachingStage(inner, store, scope));
    /// <summary>
    /// Merges concurrent requests into batched runs of what has been added so far (see <see cref="BatchingStage"/>);
    /// add it first, right around the model. The caller disposes the <see cref="BatchingStage"/> (from <paramref name="added"/>) after the last request.
    /// </summary>
    public StagePipelineBuilder AddBatching(BatchingOptions options, TimeProvider? timeProvider = null, Action<BatchingStage>? added = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return Add(inner =>
        {
            var stage = new BatchingStage(inner, options, timeProvider);
            added?.Invoke(stage);
            return stage;
        });
    }

    /// <summary>The composed stage. The core stage stays owned by the caller.</summary>
    public IInferenceStage Build()
    {
        var stage = _core;
        foreach (var decorator in _decorators)
        {
            stage = decorator(stage) ?? throw new InvalidOperationException("A decorator returned null.");
        }

        return stage;
    }
}
