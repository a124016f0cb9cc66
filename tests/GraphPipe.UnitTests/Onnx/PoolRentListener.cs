using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace GraphPipe.UnitTests;

/// <summary>
/// Records the rents and returns of <see cref="System.Buffers.ArrayPool{T}.Shared"/> made on threads whose name
/// starts with a prefix (ArrayPoolEventSource calls a listener on the renting thread), so a test can see what a
/// stage's own threads take from the pool while other tests run in parallel.
/// </summary>
internal sealed class PoolRentListener(string threadPrefix) : EventListener
{
    private readonly ConcurrentQueue<(int Id, int Size)> _rented = new();
    private readonly ConcurrentQueue<int> _returned = new();

    /// <summary>Arrays rented on the threads (id, length).</summary>
    public IReadOnlyCollection<(int Id, int Size)> Rented => _rented;

    /// <summary>Ids of the arrays returned on the threads.</summary>
    public IReadOnlyCollection<int> Returned => _returned;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "System.Buffers.ArrayPoolEventSource")
        {
            EnableEvents(eventSource, EventLevel.Verbose);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        // The constructor of EventListener may call this before the prefix field is set.
        if (threadPrefix is null || Thread.CurrentThread.Name?.StartsWith(threadPrefix, StringComparison.Ordinal) != true || eventData.Payload is not { Count: >= 2 } payload)
        {
            return;
        }

        if (eventData.EventName == "BufferRented")
        {
            _rented.Enqueue(((int)payload[0]!, (int)payload[1]!));
        }
        else if (eventData.EventName == "BufferReturned")
        {
            _returned.Enqueue((int)payload[0]!);
        }
    }
}
