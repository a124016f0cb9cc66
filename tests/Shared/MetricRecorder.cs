using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace GraphPipe.Tests;

/// <summary>Sums what one instrument records while it lives, by the value of one tag (or in total under "").</summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byTag = new(StringComparer.Ordinal);
    private readonly string? _tag;

    public MetricRecorder(string meter, string instrument, string? tag = null)
    {
        _tag = tag;
        _listener.InstrumentPublished = (i, l) =>
        {
            if (i.Meter.Name == meter && i.Name == instrument) l.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var key = string.Empty;
            foreach (var t in tags)
            {
                if (t.Key == _tag) key = t.Value?.ToString() ?? string.Empty;
            }

            _byTag.AddOrUpdate(key, value, (_, v) => v + value);
            if (key.Length > 0) _byTag.AddOrUpdate(string.Empty, value, (_, v) => v + value);
        });
        _listener.Start();
    }

    /// <summary>The sum of everything recorded.</summary>
    public long Total => _byTag.GetValueOrDefault(string.Empty);

    /// <summary>The sum recorded with the tag at this value.</summary>
    public long For(string tagValue) => _byTag.GetValueOrDefault(tagValue);

    public void Dispose() => _listener.Dispose();
}

/// <summary>Log lines written through it, for asserting what a component said.</summary>
internal sealed class LogLines : Microsoft.Extensions.Logging.ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _lines.Enqueue(exception is null ? $"{logLevel}: {formatter(state, exception)}" : $"{logLevel}: {formatter(state, exception)} ({exception.GetType().Name}: {exception.Message})");
}

/// <summary>Hands <see cref="LogLines"/> to a host's logging (<c>logging: b => b.AddProvider(new LogLinesProvider(lines))</c>).</summary>
internal sealed class LogLinesProvider(LogLines lines) : Microsoft.Extensions.Logging.ILoggerProvider
{
    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => lines;

    public void Dispose()
    {
    }
}
