using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Pipelines;

/// <summary>
/// Limits of dynamic batching (<see cref="BatchingStage"/>), after Triton's dynamic batcher
/// (<c>max_batch_size</c>, <c>max_queue_delay_microseconds</c>, <c>preferred_batch_size</c>).
/// </summary>
public sealed class BatchingOptions
{
    /// <summary>Most rows (dimension 0, summed over the merged requests) in one run of the inner stage.</summary>
    [Range(1, 1 << 20)]
    public int MaxBatchSize { get; set; } = 8;

    /// <summary>
    /// Longest a queued request waits for companions, in microseconds, while more requests are expected
    /// (fewer are queued or running than were in the stage recently). A lone client never waits: with
    /// nothing else in the stage, its request runs at once. 0: never wait (batch only what queued while the
    /// inner stage was busy).
    /// </summary>
    [Range(0, 60_000_000)]
    public int MaxQueueDelayMicroseconds { get; set; } = 500;

    /// <summary>
    /// Batch sizes (rows) the model runs best at, e.g. the profiles of a TensorRT engine: a batch is
    /// dispatched as soon as its rows reach one of them. Empty: only <see cref="MaxBatchSize"/> counts.
    /// </summary>
    public IList<int> PreferredBatchSizes { get; } = new List<int>();

    /// <summary>Batches run at once, e.g. the inner stage's session count. Default 1.</summary>
    [Range(1, 1024)]
    public int MaxConcurrentBatches { get; set; } = 1;

    /// <summary>Throws <see cref="ValidationException"/> naming the option at fault.</summary>
    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        foreach (var size in PreferredBatchSizes)
        {
            if (size < 1 || size > MaxBatchSize)
            {
                throw new ValidationException($"preferred batch size {size} must be between 1 and the max batch size ({MaxBatchSize})");
            }
        }
    }
}
