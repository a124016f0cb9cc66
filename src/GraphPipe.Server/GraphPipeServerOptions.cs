using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Server;

/// <summary>Limits and behaviour of the GraphPipe front door.</summary>
public sealed class GraphPipeServerOptions
{
    /// <summary>Largest request body accepted, in bytes; larger ones get HTTP 413. Default 64 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Time allowed for one inference, from the request arriving to the stage answering; beyond it, HTTP 504. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests processed at once; others wait in a bounded queue. Default 64.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Requests allowed to wait for a slot; beyond it, HTTP 503. Default 256.</summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedRequests { get; set; } = 256;

    /// <summary>Input names used when a request leaves a name empty (by position). Empty: the stage's metadata order.</summary>
    public IList<string> DefaultInputs { get; } = new List<string>();

    /// <summary>Outputs returned when a request names none. Empty: all of the stage's outputs.</summary>
    public IList<string> DefaultOutputs { get; } = new List<string>();

    /// <summary>Expose POST /control/shutdown like the Go reference server. Off by default: anyone who can reach the port could stop it.</summary>
    public bool EnableShutdownEndpoint { get; set; }

    internal void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (RequestTimeout <= TimeSpan.Zero && RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ValidationException($"{nameof(RequestTimeout)} must be positive.");
        }
    }
}
