namespace GraphPipe.Client.Balancing;

/// <summary>
/// Picks a replica per request the way YARP and grpc-dotnet do: two available replicas at random, the one
/// with fewer requests in flight wins. A replica the request already failed on is avoided while another is
/// available. When every replica is ejected, the one whose ejection ends first is tried (better than none).
/// </summary>
public sealed class PowerOfTwoChoicesPicker(Func<int, int>? next = null)
{
    private readonly Func<int, int> _next = next ?? Random.Shared.Next;

    /// <summary>The replica for the next attempt; null only when <paramref name="endpoints"/> is empty.</summary>
    public BalancedEndpoint? Pick(IReadOnlyList<BalancedEndpoint> endpoints, DateTimeOffset now, BalancedEndpoint? avoid = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        switch (endpoints.Count)
        {
            case 0:
                return null;
            case 1:
                return endpoints[0];
        }

        // Count the candidates without allocating: available and not the one to avoid.
        var count = 0;
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (IsCandidate(endpoints[i], now, avoid)) count++;
        }

        if (count == 0)
        {
            // Only the replica just tried is available, or none is: retry that one, else the one back soonest.
            return avoid is not null && avoid.IsAvailable(now) ? avoid : Soonest(endpoints, avoid);
        }

        if (count == 1)
        {
            return Nth(endpoints, now, avoid, 0);
        }

        var first = _next(count);
        var second = _next(count - 1);
        if (second >= first) second++;
        var a = Nth(endpoints, now, avoid, first);
        var b = Nth(endpoints, now, avoid, second);
        return b.InFlight < a.InFlight ? b : a;
    }

    private static bool IsCandidate(BalancedEndpoint endpoint, DateTimeOffset now, BalancedEndpoint? avoid) => endpoint != avoid && endpoint.IsAvailable(now);

    private static BalancedEndpoint Nth(IReadOnlyList<BalancedEndpoint> endpoints, DateTimeOffset now, BalancedEndpoint? avoid, int n)
    {
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (IsCandidate(endpoints[i], now, avoid) && n-- == 0) return endpoints[i];
        }

        throw new InvalidOperationException("unreachable: fewer candidates than counted");
    }

    private static BalancedEndpoint Soonest(IReadOnlyList<BalancedEndpoint> endpoints, BalancedEndpoint? avoid)
    {
        BalancedEndpoint? best = null;
        foreach (var endpoint in endpoints)
        {
            if (endpoint != avoid && (best is null || endpoint.EjectedUntil < best.EjectedUntil)) best = endpoint;
        }

        return best ?? endpoints[0];
    }
}
