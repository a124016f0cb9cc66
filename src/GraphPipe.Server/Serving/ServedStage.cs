using System.Threading.RateLimiting;
using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.Server.Serving;

/// <summary>One stage as the host serves it: the stage, its name, its admission limiter and default I/O names.</summary>
internal sealed class ServedStage : IDisposable
{
    private readonly ConcurrencyLimiter _admission;
    private readonly IForwardingStage? _forwarding;
    private readonly bool _ownsAdmission = true;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ServedStage> _versions = new(StringComparer.Ordinal);
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

    /// <summary>One version of a versioned stage, served as <c>{name}/versions/{version}</c>; it shares this stage's admission.</summary>
    private ServedStage(ServedStage parent, string version, IInferenceStage stage)
    {
        Name = $"{parent.Name}/versions/{version}";
        Stage = stage;
        _forwarding = stage as IForwardingStage;
        DefaultInputs = parent.DefaultInputs;
        DefaultOutputs = parent.DefaultOutputs;
        MaxRunning = parent.MaxRunning;
        QueueLimit = parent.QueueLimit;
        _admission = parent._admission;
        _ownsAdmission = false;
    }

    /// <summary>
    /// The served form of one version of a versioned stage (a model of a repository), or null when the stage
    /// has no such version now. Built once per version and kept while the version's stage stays the same.
    /// </summary>
    public ServedStage? ForVersion(string version)
    {
        if (Stage is not GraphPipe.Reloading.IVersionedStage versioned || versioned.FindVersion(version) is not { } stage)
        {
            return null;
        }

        if (_versions.TryGetValue(version, out var served) && ReferenceEquals(served.Stage, stage))
        {
            return served;
        }

        served = new ServedStage(this, version, stage);
        _versions[version] = served;
        return served;
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
            // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
            return await _admission.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    public void EnterRun() => Interlocked.Increment(ref _running);

    public void ExitRun() => Interlocked.Decrement(ref _running);

    public void Dispose()
    {
        if (_ownsAdmission)
        {
            _admission.Dispose();
        }
    }
}
