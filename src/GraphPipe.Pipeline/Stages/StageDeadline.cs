namespace GraphPipe.Stages;

/// <summary>
/// When a request must be answered: the serving host sets it from the smaller of its own request timeout
/// and the caller's remaining budget (the <c>GraphPipe-Timeout</c> header). Stages and decorators read
/// <see cref="Remaining"/> to pass the budget on (forwarding sends it to the next hop) or to fit retries
/// within it. The default value is "no deadline".
/// </summary>
public readonly struct StageDeadline
{
    private readonly TimeProvider? _time;
    private readonly long _expires;

    private StageDeadline(TimeProvider time, long expires)
    {
        _time = time;
        _expires = expires;
    }

    /// <summary>No deadline.</summary>
    public static StageDeadline None => default;

    /// <summary>A deadline <paramref name="budget"/> from now on <paramref name="time"/>'s clock; <see cref="Timeout.InfiniteTimeSpan"/> gives <see cref="None"/>.</summary>
    public static StageDeadline After(TimeSpan budget, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (budget == Timeout.InfiniteTimeSpan)
        {
            return None;
        }

        var ticks = (long)(Math.Max(0, budget.Ticks) * (time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
        return new StageDeadline(time, time.GetTimestamp() + ticks);
    }

    /// <summary>Whether there is a deadline.</summary>
    public bool IsSet => _time is not null;

    /// <summary>Time left (zero once passed); <see cref="Timeout.InfiniteTimeSpan"/> when there is no deadline.</summary>
    public TimeSpan Remaining
    {
        get
        {
            if (_time is null)
            {
                return Timeout.InfiniteTimeSpan;
            }

            var left = _time.GetElapsedTime(_time.GetTimestamp(), _expires);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }
}
