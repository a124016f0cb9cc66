using GraphPipe.Server;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.Extensions.Logging;

namespace GraphPipe.UnitTests;

/// <summary>A stage shedding load logs one summary per interval, not a line per rejected request.</summary>
public sealed class RejectionLogTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }

    private sealed class Lines : ILogger<RejectionLog>
    {
        public List<string> Logged { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Logged.Add(formatter(state, exception));
    }

    private sealed class Idle : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new() { Name = "busy" };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    [Fact]
    public void Rejected_ManyWithinTheInterval_OneLineThenOneSummaryOfTheRest()
    {
        var time = new ManualTime();
        var lines = new Lines();
        var log = new RejectionLog(lines, time);
        using var stage = new ServedStage("busy", new Idle(), new GraphPipeServerOptions { MaxConcurrentRequests = 2, MaxQueuedRequests = 4 }, [], []);

        log.Rejected(stage);
        for (var i = 0; i < 1447; i++)
        {
            time.Ticks += TimeSpan.FromMilliseconds(4).Ticks;
            log.Rejected(stage);
        }

        time.Ticks += RejectionLog.Interval.Ticks;
        log.Rejected(stage);

        Assert.Equal(2, lines.Logged.Count);
        Assert.StartsWith("Stage busy rejected 1 requests", lines.Logged[0], StringComparison.Ordinal);
        Assert.StartsWith("Stage busy rejected 1448 requests in the last 16 s: 0 running and a queue of 4 full", lines.Logged[1], StringComparison.Ordinal);
    }
}
