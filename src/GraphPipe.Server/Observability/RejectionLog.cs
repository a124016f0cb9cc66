using Microsoft.Extensions.Logging;

namespace GraphPipe.Server.Serving;

/// <summary>
/// Logs rejected requests as one summary per interval instead of a line each: a stage shedding load
/// would otherwise write thousands of lines a second.
/// </summary>
internal sealed class RejectionLog(ILogger<RejectionLog> logger, TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly Lock _gate = new();
    private long _pending;
    private long _windowStart = long.MinValue;

    public void Rejected(ServedStage stage)
    {
        var now = time.GetTimestamp();
        long count;
        double seconds;
        lock (_gate)
        {
            _pending++;
            if (_windowStart != long.MinValue && time.GetElapsedTime(_windowStart, now) < Interval)
            {
                return;
            }

            seconds = _windowStart == long.MinValue ? 0 : time.GetElapsedTime(_windowStart, now).TotalSeconds;
            count = _pending;
            _pending = 0;
            _windowStart = now;
        }

        Log.RequestsRejected(logger, stage.Name, count, seconds, stage.Running, stage.QueueLimit);
    }
}
