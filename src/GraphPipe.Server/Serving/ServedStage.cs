using System.Threading.RateLimiting;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.Server.Serving;

/// <summary>One stage as the host serves it: the stage, its name, its admission limiter and default I/O names.</summary>
internal sealed class ServedStage : IDisposable
{
    private readonly ConcurrencyLimiter _admission;
    private readonly IForwardingStage? _forwarding;
    private int _running;
    private int _queued;

    public ServedStage(string name, IInferenceStage stage, GraphPipeServerOptions options, IReadOnlyList<string> defaultInputs, IReadOnlyList<string> defaultOutputs)
    {
        Name = name;
        Stage = stage;
        _forwarding = stage as IForwardingStage;
        DefaultInputs = defaultInputs;
        DefaultOutputs = defaultOutputs;
        MaxRunning = options.MaxConcurrentRequests;
        QueueLimit = options.MaxQueuedRequests;
        _admission = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentRequests,
            QueueLimit = options.MaxQueuedRequests,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The name in paths, metrics, traces and error messages.</summary>
    public string Name { get; }

    public IInferenceStage Stage { get; }

    public IReadOnlyList<string> DefaultInputs { get; }

    public IReadOnlyList<string> DefaultOutputs { get; }

    /// <summary>
    /// Whether a request with this route goes on to a next stage, whose output names it then asks for
    /// (so the endpoint passes them through unchecked). Decided once per stage kind, not per request.
    /// </summary>
    public bool ForwardsOutputs(PipelineRoute route) => _forwarding?.WillForward(route) ?? false;

    public int MaxRunning { get; }

    public int QueueLimit { get; }

    public int Running => Volatile.Read(ref _running);

    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Waits for a slot (in the bounded queue); a lease that is not acquired means the queue was full.</summary>
    public async ValueTask<RateLimitLease> AdmitAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queued);
        try
        {
            return await _admission.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    public void EnterRun() => Interlocked.Increment(ref _running);

    public void ExitRun() => Interlocked.Decrement(ref _running);

    public void Dispose() => _admission.Dispose();
}
