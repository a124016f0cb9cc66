namespace GraphPipe.Client.Balancing;

/// <summary>
/// Picks a replica per request the way YARP and grpc-dotnet do: two available replicas at random, the one
/// with fewer requests in flight wins. Replicas the request already failed on are avoided while another is
/// available; when every replica is ejected, the one whose ejection ends first is tried (better than none).
/// </summary>
public sealed class PowerOfTwoChoicesPicker(Func<int, int>? next = null)
{
    private readonly Func<int, int> _next = next ?? Random.Shared.Next;

    /// <summary>The replica for the next attempt; null only when <paramref name="endpoints"/> is empty.</summary>
    /// <param name="avoid">Replicas this request already failed on (a retry), or null.</param>
    public BalancedEndpoint? Pick(IReadOnlyList<BalancedEndpoint> endpoints, DateTimeOffset now, IReadOnlyList<BalancedEndpoint>? avoid = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        switch (endpoints.Count)
        {
            case 0:
                return null;
            case 1:
                return endpoints[0];
        }

        // Available and not yet tried; else available (tried ones again); else the one back soonest.
        var count = Count(endpoints, now, avoid);
        if (count == 0 && avoid is not null)
        {
            avoid = null;
            count = Count(endpoints, now, null);
        }

        switch (count)
        {
            case 0:
                return Soonest(endpoints);
            case 1:
                return Nth(endpoints, now, avoid, 0);
        }

        var first = _next(count);
        var second = _next(count - 1);
        if (second >= first) second++;
        var a = Nth(endpoints, now, avoid, first);
        var b = Nth(endpoints, now, avoid, second);
        return b.InFlight < a.InFlight ? b : a;
    }

    private static int Count(IReadOnlyList<BalancedEndpoint> endpoints, DateTimeOffset now, IReadOnlyList<BalancedEndpoint>? avoid)
    {
        var count = 0;
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (IsCandidate(endpoints[i], now, avoid)) count++;
        }

        return count;
    }

    private static bool IsCandidate(BalancedEndpoint endpoint, DateTimeOffset now, IReadOnlyList<BalancedEndpoint>? avoid)
    {
        if (!endpoint.IsAvailable(now)) return false;
        if (avoid is null) return true;
        for (var i = 0; i < avoid.Count; i++)
        {
            if (avoid[i] == endpoint) return false;
        }

        return true;
    }

    private static BalancedEndpoint Nth(IReadOnlyList<BalancedEndpoint> endpoints, DateTimeOffset now, IReadOnlyList<BalancedEndpoint>? avoid, int n)
    {
        BalancedEndpoint? last = null;
        for (var i = 0; i < endpoints.Count; i++)
        {
            if (IsCandidate(endpoints[i], now, avoid))
            {
                if (n-- == 0) return endpoints[i];
                last = endpoints[i];
            }
        }

        // Another request ejected a replica between counting and here: the last candidate left, else the one back soonest.
        return last ?? Soonest(endpoints);
    }

    private static BalancedEndpoint Soonest(IReadOnlyList<BalancedEndpoint> endpoints)
    {
        var best = endpoints[0];
        for (var i = 1; i < endpoints.Count; i++)
        {
            if (endpoints[i].EjectedUntil < best.EjectedUntil) best = endpoints[i];
        }

        return best;
    }
}
