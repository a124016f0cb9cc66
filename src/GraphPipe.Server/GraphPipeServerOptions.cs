using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Server;

/// <summary>Limits and behaviour of the serving host, shared by every stage and protocol endpoint it serves.</summary>
public sealed class GraphPipeServerOptions : IValidatableObject
{
    /// <summary>Largest request body accepted, in bytes; larger ones get HTTP 413. Default 64 MiB.</summary>
    [Range(1024, int.MaxValue - 1)]
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Time allowed to receive a request body, counted before the request takes a concurrency slot, so a
    /// slow upload holds no slot; beyond it, HTTP 408. Default 30 s.
    /// </summary>
    public TimeSpan BodyReadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Slowest upload accepted, in bytes per second after a 5 s grace period (Kestrel's data-rate check). Default 1024; 0 turns it off.</summary>
    [Range(0, int.MaxValue)]
    public int MinRequestBodyBytesPerSecond { get; set; } = 1024;

    /// <summary>Time allowed for one request once its body is in: queueing for a slot plus the stage's work; beyond it, HTTP 504. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests each stage processes at once; others wait in a bounded queue. Default 64.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Requests allowed to wait for a slot, per stage; beyond it, HTTP 503. Default 256.</summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedRequests { get; set; } = 256;

    /// <summary>Input names used when a request leaves a name empty (by position), for the default stage. Empty: the stage's metadata order.</summary>
    public IList<string> DefaultInputs { get; } = new List<string>();

    /// <summary>Outputs returned when a request names none, for the default stage. Empty: all of the stage's outputs.</summary>
    public IList<string> DefaultOutputs { get; } = new List<string>();

    /// <summary>Expose POST /control/shutdown like the Go reference server. Off by default: anyone who can reach the port could stop it.</summary>
    public bool EnableShutdownEndpoint { get; set; }

    /// <summary>
    /// After a stop is requested (SIGTERM), readiness answers 503 at once but requests are still served for
    /// this long, so load balancers stop sending before the listener closes. Default 0 (5 s is typical behind Kubernetes).
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Time in-flight requests get to finish once the listener has closed; the stages are disposed only after. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether a forwarding stage's readiness fails when its configured next stage does not answer. Default
    /// false: the state is reported in the health detail only, so one slow model does not empty a whole pipeline.
    /// </summary>
    public bool ReadinessRequiresNextStage { get; set; }

    /// <summary>Add a <c>Server-Timing</c> header (decode, queue, run, next) to every inference response. Default true.</summary>
    public bool ServerTiming { get; set; } = true;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            yield return new ValidationResult("RequestTimeout must be positive (or infinite).", [nameof(RequestTimeout)]);
        }

        if (BodyReadTimeout <= TimeSpan.Zero && BodyReadTimeout != Timeout.InfiniteTimeSpan)
        {
            yield return new ValidationResult("BodyReadTimeout must be positive (or infinite).", [nameof(BodyReadTimeout)]);
        }

        if (DrainDelay < TimeSpan.Zero)
        {
            yield return new ValidationResult("DrainDelay must not be negative.", [nameof(DrainDelay)]);
        }

        if (ShutdownTimeout < TimeSpan.Zero)
        {
            yield return new ValidationResult("ShutdownTimeout must not be negative.", [nameof(ShutdownTimeout)]);
        }
    }
}
