namespace GraphPipe.Client.Balancing;

/// <summary>
/// Sends each request for an <see cref="EndpointGroup"/> (named by its <see cref="EndpointGroup.Address"/>) to
/// one replica chosen by the <see cref="PowerOfTwoChoicesPicker"/>, rewriting the request's URI, and reports
/// the outcome to the replica's passive health. Each attempt of a retry passes through here again and
/// avoids the replica the previous attempt failed on. Requests for other addresses pass through unchanged.
/// </summary>
public sealed class BalancingHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<Uri> LogicalUri = new("GraphPipe.Balancing.LogicalUri");
    private static readonly HttpRequestOptionsKey<BalancedEndpoint> LastEndpoint = new("GraphPipe.Balancing.LastEndpoint");
    private static readonly HttpRequestOptionsKey<List<BalancedEndpoint>> Tried = new("GraphPipe.Balancing.Tried");

    private readonly EndpointGroup[] _groups;
    private readonly PowerOfTwoChoicesPicker _picker;

    public BalancingHandler(IEnumerable<EndpointGroup> groups, PowerOfTwoChoicesPicker? picker = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = [.. groups];
        _picker = picker ?? new PowerOfTwoChoicesPicker();
    }

    /// <summary>The replica the request's last attempt went to (for tests and diagnostics), or null.</summary>
    public static BalancedEndpoint? LastEndpointOf(HttpRequestMessage request)
        => request is not null && request.Options.TryGetValue(LastEndpoint, out var endpoint) ? endpoint : null;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Options.TryGetValue(LogicalUri, out var logical))
        {
            logical = request.RequestUri!;
            request.Options.Set(LogicalUri, logical);
        }

        var group = Find(logical);
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
                endpoint.ReportFailure(group.Options.TimeProvider.GetUtcNow(), group.Options);
            }
            else
            {
                endpoint.ReportSuccess();
            }

            return response;
        }
        catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
        {
            endpoint.ReportFailure(group.Options.TimeProvider.GetUtcNow(), group.Options);
            throw new HttpRequestException(ex.HttpRequestError, $"replica {endpoint.Address.Authority}: {ex.Message}", ex, ex.StatusCode);
        }
        finally
        {
            endpoint.Finished();
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
