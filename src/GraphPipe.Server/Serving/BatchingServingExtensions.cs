using GraphPipe.Pipelines;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;

namespace GraphPipe.Server;

/// <summary>Dynamic batching on the serving builder (see <see cref="BatchingStage"/> and docs/batching.md).</summary>
public static class BatchingServingExtensions
{
    /// <summary>
    /// Serves <paramref name="stage"/> (owned by the caller) behind a <see cref="BatchingStage"/> the host owns: concurrent
    /// requests to <c>/{name}</c> are merged into runs of up to <see cref="BatchingOptions.MaxBatchSize"/> rows. The
    /// batch-size and queue-delay histograms are exported with the host's telemetry (meter <c>GraphPipe.Pipeline</c>).
    /// </summary>
    public static GraphPipeServingBuilder AddBatchedStage(this GraphPipeServingBuilder builder, string name, IInferenceStage stage, BatchingOptions options, bool isDefault = false)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (BatchingStage.Unbatchable(stage.Metadata) is { } why)
        {
            throw new ArgumentException(why, nameof(stage));
        }

        return builder.AddStage(name, services => new BatchingStage(stage, options, services.GetService<TimeProvider>()), isDefault);
    }
}
