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
