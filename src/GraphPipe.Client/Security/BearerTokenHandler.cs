namespace GraphPipe.Client;

/// <summary>
/// Adds <c>Authorization: Bearer KEY</c> to every request it sends, for clients made by <c>IHttpClientFactory</c>
/// (<c>AddHttpMessageHandler</c>). Give it only to clients whose targets the operator chose: a key sent to a
/// URL a request named would leak.
/// </summary>
public sealed class BearerTokenHandler : DelegatingHandler
{
    private readonly string _authorization;

    public BearerTokenHandler(string apiKey)
    {
        _authorization = ApiKeys.AuthorizationValue(apiKey);
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        return base.SendAsync(request, cancellationToken);
    }
}
