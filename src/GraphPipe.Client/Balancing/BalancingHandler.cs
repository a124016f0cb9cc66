using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GraphPipe.Client.Balancing;

/// <summary>
/// Sends each request for an <see cref="EndpointGroup"/> (named by its <see cref="EndpointGroup.Address"/>) to
/// one replica chosen by the <see cref="PowerOfTwoChoicesPicker"/>, rewriting the request's URI, and reports
/// the outcome to the replica's passive health. Each attempt of a retry passes through here again and
/// avoids the replica the previous attempt failed on, and sends what is left of the request's budget
/// (<see cref="RequestBudget"/>), or nothing once it has run out. Ejections, probes that bring a replica
/// back and retries are logged and counted (<see cref="BalancingTelemetry"/>). Requests for other
/// addresses pass through unchanged.
/// </summary>
public sealed class BalancingHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<Uri> LogicalUri = new("GraphPipe.Balancing.LogicalUri");
    private static readonly HttpRequestOptionsKey<BalancedEndpoint> LastEndpoint = new("GraphPipe.Balancing.LastEndpoint");
    private static readonly HttpRequestOptionsKey<List<BalancedEndpoint>> Tried = new("GraphPipe.Balancing.Tried");
    private static readonly HttpRequestOptionsKey<EndpointGroup> Group = new("GraphPipe.Balancing.Group");

    private readonly EndpointGroup[] _groups;
    private readonly PowerOfTwoChoicesPicker _picker;
    private readonly ILogger _logger;

    public BalancingHandler(IEnumerable<EndpointGroup> groups, PowerOfTwoChoicesPicker? picker = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = [.. groups];
        _picker = picker ?? new PowerOfTwoChoicesPicker();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The replica the request's last attempt went to (for tests and diagnostics), or null.</summary>
    public static BalancedEndpoint? LastEndpointOf(HttpRequestMessage request)
        => request is not null && request.Options.TryGetValue(LastEndpoint, out var endpoint) ? endpoint : null;

    /// <summary>
    /// Balances <paramref name="request"/> over <paramref name="group"/> even though this handler was not built
    /// with it (groups chosen per request, e.g. next hops named in a request's config).
    /// </summary>
    public static void UseGroup(HttpRequestMessage request, EndpointGroup group)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(group);
        request.Options.Set(Group, group);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Options.TryGetValue(LogicalUri, out var logical))
        {
            logical = request.RequestUri!;
            request.Options.Set(LogicalUri, logical);
        }

        var group = request.Options.TryGetValue(Group, out var chosen) ? chosen : Find(logical);
        if (group is null)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var endpoints = await group.GetEndpointsAsync(cancellationToken).ConfigureAwait(false);
        var now = group.Options.TimeProvider.GetUtcNow();
        List<BalancedEndpoint>? tried = null;
        if (request.Options.TryGetValue(LastEndpoint, out var last))
        {
            // A retry: avoid every replica this request has been to (allocated only when retrying).
            if (!request.Options.TryGetValue(Tried, out tried))
            {
                tried = [];
                request.Options.Set(Tried, tried);
            }

            tried.Add(last);

            // The budget sent with the first attempt is stale now: send what is left, or nothing.
            var remaining = RequestBudget.Refresh(request);
            if (remaining <= TimeSpan.Zero)
            {
                throw new HttpRequestException(HttpRequestError.Unknown, $"{group}: the request's budget ({GraphPipeTimeoutHeader.Name}) ran out before a retry could be sent; the last attempt went to replica {last.Address.Authority}");
            }

            BalancingTelemetry.Retries.Add(1, BalancingTelemetry.Endpoint(last), BalancingTelemetry.Group(group));
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.Retrying(_logger, group.Address.Authority, last.Address.Authority, remaining?.TotalMilliseconds ?? -1);
            }
        }

        var endpoint = _picker.Pick(endpoints, now, tried)
            ?? throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{group}: no replica to send to (the DNS name has no address)");
        request.Options.Set(LastEndpoint, endpoint);
        request.RequestUri = Rewrite(logical, group.Address, endpoint.Address);
        if (group.UsesDns)
        {
            // The replica is an IP address: keep the name for virtual hosts and TLS.
            request.Headers.Host = group.Address.Authority;
        }

        endpoint.Started();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if ((int)response.StatusCode >= 500)
            {
                Failed(group, endpoint);
            }
            else if (endpoint.ReportSuccess())
            {
                BalancingTelemetry.Restorations.Add(1, BalancingTelemetry.Endpoint(endpoint), BalancingTelemetry.Group(group));
                Log.EndpointRestored(_logger, endpoint.Address.Authority, group.Address.Authority);
            }

            return response;
        }
        catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Failed(group, endpoint);
            throw new HttpRequestException(ex.HttpRequestError, $"replica {endpoint.Address.Authority}: {ex.Message}", ex, ex.StatusCode);
        }
        finally
        {
            endpoint.Finished();
        }
    }

    private void Failed(EndpointGroup group, BalancedEndpoint endpoint)
    {
        if (endpoint.ReportFailure(group.Options.TimeProvider.GetUtcNow(), group.Options))
        {
            BalancingTelemetry.Ejections.Add(1, BalancingTelemetry.Endpoint(endpoint), BalancingTelemetry.Group(group));
            Log.EndpointEjected(_logger, endpoint.Address.Authority, group.Address.Authority, group.Options.EjectionPeriod.TotalSeconds, endpoint.ConsecutiveFailures);
        }
    }

    private EndpointGroup? Find(Uri uri)
    {
        foreach (var group in _groups)
        {
            var address = group.Address;
            if (address.Port == uri.Port && string.Equals(address.Scheme, uri.Scheme, StringComparison.Ordinal) && string.Equals(address.IdnHost, uri.IdnHost, StringComparison.OrdinalIgnoreCase))
            {
                return group;
            }
        }

        return null;
    }

    /// <summary>The request's URI with the group's scheme, host, port and path prefix replaced by the replica's.</summary>
    internal static Uri Rewrite(Uri logical, Uri groupAddress, Uri replica)
    {
        var path = logical.AbsolutePath;
        var prefix = groupAddress.AbsolutePath;
        var rest = path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..] : path.TrimStart('/');
        var builder = new UriBuilder(replica) { Path = replica.AbsolutePath.TrimEnd('/') + "/" + rest.TrimStart('/'), Query = logical.Query.TrimStart('?') };
        if (replica.AbsolutePath == "/" && rest.Length == 0 && prefix == "/")
        {
            builder.Path = "/";
        }

        return builder.Uri;
    }
}
