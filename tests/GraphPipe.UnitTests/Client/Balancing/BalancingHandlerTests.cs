using System.Net;
using GraphPipe.Client.Balancing;

namespace GraphPipe.UnitTests.Client.Balancing;

/// <summary>The handler chain retry -> balancing over a fake transport: which replica each attempt went to and what the caller sees.</summary>
public sealed class BalancingHandlerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendAsync_FirstReplicaRefusesConnections_RetriedOnTheOther()
    {
        var transport = new FakeTransport { ["a:9000"] = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused") };
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000");
        using var http = Client(group, transport, drawFirst: 0);

        using var response = await http.PostAsync(group.Address, new ByteArrayContent([1, 2, 3]), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["a:9000", "b:9000"], transport.Calls);
        Assert.Equal([[1, 2, 3], [1, 2, 3]], transport.Bodies);
        Assert.Equal(1, group.Endpoints[0].ConsecutiveFailures);
    }

    [Fact]
    public async Task SendAsync_503WithRetryAfter_RetriedOnTheOtherAtOnce()
    {
        var transport = new FakeTransport
        {
            ["a:9000"] = _ =>
            {
                var full = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
                full.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(30));
                return full;
            },
        };
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000");
        using var http = Client(group, transport, drawFirst: 0);

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var response = await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["a:9000", "b:9000"], transport.Calls);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(30), "waited for Retry-After although another replica was free");
    }

    [Fact]
    public async Task SendAsync_500_NotRetriedButCountedAgainstTheReplica()
    {
        var transport = new FakeTransport { ["a:9000"] = _ => new HttpResponseMessage(HttpStatusCode.InternalServerError) };
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000");
        using var http = Client(group, transport, drawFirst: 0);

        using var response = await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(["a:9000"], transport.Calls);
        Assert.Equal(1, group.Endpoints[0].ConsecutiveFailures);
    }

    [Fact]
    public async Task SendAsync_RetryTurnedOff_TheFailureReachesTheCallerNamingTheReplica()
    {
        var transport = new FakeTransport { ["a:9000"] = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused") };
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000", new BalancingOptions { Retry = false });
        using var http = Client(group, transport, drawFirst: 0);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(group.Address, new ByteArrayContent([1]), Ct));

        Assert.Equal(["a:9000"], transport.Calls);
        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Contains("replica a:9000: Connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_EveryReplicaDown_GivesUpAfterTheRetriesWithTheLastCause()
    {
        var transport = new FakeTransport
        {
            ["a:9000"] = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused"),
            ["b:9000"] = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused"),
        };
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000", new BalancingOptions { MaxRetries = 2, RetryBackoff = TimeSpan.FromMilliseconds(1) });
        using var http = Client(group, transport, drawFirst: 0);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(group.Address, new ByteArrayContent([1]), Ct));

        Assert.Equal(3, transport.Calls.Count);
        Assert.Contains("Connection refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendAsync_OtherAddress_PassesThroughUnchanged()
    {
        var transport = new FakeTransport();
        using var group = EndpointGroup.Parse("http://a:9000,http://b:9000");
        using var http = Client(group, transport, drawFirst: 0);

        using var response = await http.GetAsync(new Uri("http://c:9000/control/is_ready"), Ct);

        Assert.Equal(["c:9000"], transport.Calls);
        Assert.Equal("/control/is_ready", transport.Paths.Single());
    }

    [Theory]
    [InlineData("http://a:9000/", "http://a:9000/", "http://b:9001/", "http://b:9001/")]
    [InlineData("http://a:9000/control/is_ready", "http://a:9000/", "http://b:9001/", "http://b:9001/control/is_ready")]
    [InlineData("http://a:9000/v1/infer?x=1", "http://a:9000/v1", "http://b:9001/v2", "http://b:9001/v2/infer?x=1")]
    public void Rewrite_KeepsThePathBelowTheGroupsAddress(string request, string group, string replica, string expected)
        => Assert.Equal(new Uri(expected), BalancingHandler.Rewrite(new Uri(request), new Uri(group), new Uri(replica)));

    private static HttpClient Client(EndpointGroup group, FakeTransport transport, int drawFirst)
    {
        HttpMessageHandler chain = new BalancingHandler([group], new PowerOfTwoChoicesPicker(max => Math.Min(drawFirst, max - 1))) { InnerHandler = transport };
        if (BalancingRetry.CreateHandler(group.Options) is { } retry)
        {
            retry.InnerHandler = chain;
            chain = retry;
        }

        return new HttpClient(chain);
    }

    /// <summary>Answers per authority (default 200), recording each attempt.</summary>
    private sealed class FakeTransport : HttpMessageHandler
    {
        private readonly Dictionary<string, Func<HttpRequestMessage, HttpResponseMessage>> _answers = [];

        public List<string> Calls { get; } = [];

        public List<string> Paths { get; } = [];

        public List<byte[]> Bodies { get; } = [];

        public Func<HttpRequestMessage, HttpResponseMessage> this[string authority]
        {
            set => _answers[authority] = value;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var authority = request.RequestUri!.Authority;
            lock (Calls)
            {
                Calls.Add(authority);
                Paths.Add(request.RequestUri.PathAndQuery);
            }

            if (request.Content is not null)
            {
                var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
                lock (Calls) Bodies.Add(body);
            }

            return _answers.TryGetValue(authority, out var answer) ? answer(request) : new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
