using System.ComponentModel.DataAnnotations;

namespace GraphPipe.Client.Balancing;

/// <summary>How requests are spread over a stage's replicas, when a replica is left out, and when a request is retried.</summary>
public sealed class BalancingOptions
{
    /// <summary>Consecutive failures (no response, or a 5xx) after which a replica is ejected. Default 3.</summary>
    [Range(1, 1000)]
    public int FailuresToEject { get; set; } = 3;

    /// <summary>How long an ejected replica gets no requests; then one is let through as a probe, and a success brings it back. Default 5 s.</summary>
    public TimeSpan EjectionPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a <c>dns:///name:port</c> endpoint is resolved again (a Kubernetes headless Service's pods come and go). Default 15 s.</summary>
    public TimeSpan DnsRefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Retry a request that failed before any response (connection refused or reset, 503) on another replica,
    /// within the caller's deadline. Safe because inference is idempotent; turn off for stages with side effects. Default true.
    /// </summary>
    public bool Retry { get; set; } = true;

    /// <summary>Retries per request after the first attempt. Default 3.</summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Wait before the second and later retries (doubling, with jitter); the first retry goes to another replica at once. Default 20 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Clock for ejection and DNS refresh (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws when a setting is out of range (call at start).</summary>
    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (EjectionPeriod <= TimeSpan.Zero) throw new ValidationException($"{nameof(EjectionPeriod)} must be positive (was {EjectionPeriod}).");
        if (DnsRefreshInterval <= TimeSpan.Zero) throw new ValidationException($"{nameof(DnsRefreshInterval)} must be positive (was {DnsRefreshInterval}).");
        if (RetryBackoff < TimeSpan.Zero) throw new ValidationException($"{nameof(RetryBackoff)} must not be negative (was {RetryBackoff}).");
    }
}
