using System.Collections.Concurrent;
using GraphPipe.Client.Balancing;

namespace GraphPipe.Pipelines;

/// <summary>
/// The replica groups of next hops named in requests' config (hybrid sequencing), kept by the hop's text so
/// that passive health (ejections, probes) lasts across requests naming the same list. At most
/// <see cref="Capacity"/> lists are kept (clients choose them); beyond that a URL list is balanced for its
/// request alone, and a <c>dns:///</c> entry (which would need a refresh timer) is refused.
/// </summary>
public sealed class NextHopGroups(BalancingOptions options, int capacity = NextHopGroups.DefaultCapacity) : IDisposable
{
    /// <summary>Distinct hop lists kept by default.</summary>
    public const int DefaultCapacity = 256;

    private readonly ConcurrentDictionary<string, EndpointGroup> _groups = new(StringComparer.Ordinal);

    /// <summary>How many distinct hop lists keep their health state.</summary>
    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>The group for <paramref name="hop"/> (replicas separated by <c>|</c>), or null with the reason.</summary>
    public EndpointGroup? Get(string hop, out string? error)
    {
        ArgumentNullException.ThrowIfNull(hop);
        error = null;
        if (_groups.TryGetValue(hop, out var known))
        {
            return known;
        }

        EndpointGroup parsed;
        try
        {
            parsed = EndpointGroup.Parse(hop, options);
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return null;
        }

        if (_groups.Count >= Capacity)
        {
            if (parsed.UsesDns)
            {
                parsed.Dispose();
                error = $"this stage already follows {Capacity} distinct next-hop lists; a dns:/// entry cannot be added (name the replicas by URL)";
                return null;
            }

            return parsed;
        }

        var kept = _groups.GetOrAdd(hop, parsed);
        if (!ReferenceEquals(kept, parsed))
        {
            parsed.Dispose();
        }

        return kept;
    }

    public void Dispose()
    {
        foreach (var group in _groups.Values)
        {
            group.Dispose();
        }

        _groups.Clear();
    }
}
