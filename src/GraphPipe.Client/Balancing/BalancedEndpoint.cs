namespace GraphPipe.Client.Balancing;

/// <summary>
/// One replica of a stage: its address, the requests it has in flight, and its passive health. A replica
/// is ejected after <see cref="BalancingOptions.FailuresToEject"/> consecutive failures; once
/// <see cref="BalancingOptions.EjectionPeriod"/> has passed it is available again as a probe, and the
/// first success resets it (the first failure ejects it again). Thread-safe, lock-free.
/// </summary>
public sealed class BalancedEndpoint
{
    private int _inFlight;
    private int _failures;
    private long _ejectedUntilTicks;
    private int _ejected;

    public BalancedEndpoint(Uri address)
    {
        Address = address ?? throw new ArgumentNullException(nameof(address));
    }

    /// <summary>Where requests for this replica go.</summary>
    public Uri Address { get; }

    /// <summary>Requests sent to this replica and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Failures since the last success.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    /// <summary>Whether requests may go here at <paramref name="now"/> (not ejected, or its ejection has run out: a probe).</summary>
    public bool IsAvailable(DateTimeOffset now) => now.UtcTicks >= Volatile.Read(ref _ejectedUntilTicks);

    /// <summary>When the current ejection ends (in the past when not ejected).</summary>
    public DateTimeOffset EjectedUntil => new(Volatile.Read(ref _ejectedUntilTicks), TimeSpan.Zero);

    internal void Started() => Interlocked.Increment(ref _inFlight);

    internal void Finished() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Whether the replica was ejected and no probe has succeeded since.</summary>
    public bool IsEjected => Volatile.Read(ref _ejected) != 0;

    /// <summary>An answer came that was not a 5xx: the replica is healthy. Returns true when this success was the probe that brought an ejected replica back.</summary>
    public bool ReportSuccess()
    {
        if (Volatile.Read(ref _failures) != 0)
        {
            Volatile.Write(ref _failures, 0);
        }

        return Volatile.Read(ref _ejected) != 0 && Interlocked.Exchange(ref _ejected, 0) != 0;
    }

    /// <summary>No answer (connection refused, reset) or a 5xx. Returns true when this failure ejected the replica.</summary>
    public bool ReportFailure(DateTimeOffset now, BalancingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Interlocked.Increment(ref _failures);
        var until = Volatile.Read(ref _ejectedUntilTicks);
        if (failures < options.FailuresToEject || now.UtcTicks < until)
        {
            return false;
        }

        // Concurrent failures at the threshold: one of them ejects (and is logged and counted), the others see it done.
        if (Interlocked.CompareExchange(ref _ejectedUntilTicks, (now + options.EjectionPeriod).UtcTicks, until) != until)
        {
            return false;
        }

        Volatile.Write(ref _ejected, 1);
        return true;
    }

    public override string ToString() => Address.ToString();
}
