namespace GraphPipe.Client;

/// <summary>
/// The deadline a request was sent with, kept on the <see cref="HttpRequestMessage"/> so that every attempt
/// (a retry on another replica) sends what is left of it in <c>GraphPipe-Timeout</c>, not the value computed
/// for the first attempt, and so that a retry is not sent once it has run out.
/// </summary>
public static class RequestBudget
{
    private static readonly HttpRequestOptionsKey<Budget> Key = new("GraphPipe.RequestBudget");

    /// <summary>Sends <paramref name="budget"/> with <paramref name="request"/> and remembers when it was set.</summary>
    public static void Set(HttpRequestMessage request, TimeSpan budget, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(time);
        request.Options.Set(Key, new Budget(time, time.GetTimestamp(), budget));
        WriteHeader(request, budget);
    }

    /// <summary>What is left of the request's budget now; null when it was sent without one.</summary>
    public static TimeSpan? Remaining(HttpRequestMessage? request)
        => request is not null && request.Options.TryGetValue(Key, out var budget) ? budget.Remaining : null;

    /// <summary>
    /// Rewrites the request's <c>GraphPipe-Timeout</c> to what is left now (called before each retry).
    /// Returns the remaining budget, or null when the request has none (the header is left alone).
    /// </summary>
    public static TimeSpan? Refresh(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Remaining(request) is not { } remaining)
        {
            return null;
        }

        WriteHeader(request, remaining);
        return remaining;
    }

    private static void WriteHeader(HttpRequestMessage request, TimeSpan budget)
    {
        request.Headers.Remove(GraphPipeTimeoutHeader.Name);
        request.Headers.TryAddWithoutValidation(GraphPipeTimeoutHeader.Name, GraphPipeTimeoutHeader.Format(budget));
    }

    private sealed record Budget(TimeProvider Time, long Started, TimeSpan Total)
    {
        public TimeSpan Remaining => Total - Time.GetElapsedTime(Started);
    }
}
