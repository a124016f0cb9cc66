using System.Net;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Tests;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests.Client.Balancing;

/// <summary>
/// What balancing tells the operator (ejections and probes logged and counted in the GraphPipe.Client meter,
/// retries counted) and what a retry tells the next replica (the budget left, not the first attempt's).
/// Each test uses its own replica names: the meter is process-wide.
/// </summary>
public sealed class BalancingObservabilityTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendAsync_ConsecutiveFailuresEjectAReplica_LoggedAndCountedOnce()
    {
        var transport = new Transport { ["eject-a:9000"] = _ => new HttpResponseMessage(HttpStatusCode.InternalServerError) };
        using var group = EndpointGroup.Parse("http://eject-a:9000,http://eject-b:9000", new BalancingOptions { FailuresToEject = 2, TimeProvider = _time });
        using var ejections = new MetricRecorder(BalancingTelemetry.MeterName, "graphpipe.client.endpoint.ejections", "endpoint");
        var log = new LogLines();
        using var http = Client(group, transport, log);

        for (var i = 0; i < 4; i++)
        {
            using var response = await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct);
        }

        Assert.Equal(["eject-a:9000", "eject-a:9000", "eject-b:9000", "eject-b:9000"], transport.Calls);
        Assert.Equal(1, ejections.For("eject-a:9000"));
        Assert.Equal(0, ejections.For("eject-b:9000"));
        var line = Assert.Single(log.Lines);
        Assert.Equal("Warning: Replica eject-a:9000 of eject-a:9000 ejected for 5 s after 2 consecutive failures (no response or 5xx)", line);
    }

    [Fact]
    public async Task SendAsync_EjectedReplicaAnswersItsProbe_LoggedAndCountedAsRestored()
    {
        var failing = true;
        var transport = new Transport { ["probe-a:9000"] = _ => new HttpResponseMessage(failing ? HttpStatusCode.BadGateway : HttpStatusCode.OK) };
        using var group = EndpointGroup.Parse("http://probe-a:9000,http://probe-b:9000", new BalancingOptions { FailuresToEject = 1, EjectionPeriod = TimeSpan.FromSeconds(5), TimeProvider = _time });
        using var restorations = new MetricRecorder(BalancingTelemetry.MeterName, "graphpipe.client.endpoint.restorations", "endpoint");
        using var ejections = new MetricRecorder(BalancingTelemetry.MeterName, "graphpipe.client.endpoint.ejections", "endpoint");
        var log = new LogLines();
        using var http = Client(group, transport, log);

        (await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct)).Dispose();
        (await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct)).Dispose();
        _time.Advance(TimeSpan.FromSeconds(5));
        failing = false;
        (await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct)).Dispose();
        (await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct)).Dispose();

        Assert.Equal(["probe-a:9000", "probe-b:9000", "probe-a:9000", "probe-a:9000"], transport.Calls);
        Assert.Equal(1, ejections.For("probe-a:9000"));
        Assert.Equal(1, restorations.For("probe-a:9000"));
        Assert.Equal("Information: Replica probe-a:9000 of probe-a:9000 answered its probe: back in rotation", log.Lines.Last());
    }

    [Fact]
    public async Task SendAsync_RetriedOnAnotherReplica_CountedWithTheReplicaThatFailed()
    {
        var transport = new Transport { ["retry-a:9000"] = _ => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused") };
        using var group = EndpointGroup.Parse("http://retry-a:9000,http://retry-b:9000");
        using var retries = new MetricRecorder(BalancingTelemetry.MeterName, "graphpipe.client.retries", "endpoint");
        using var http = Client(group, transport, new LogLines());

        using var response = await http.PostAsync(group.Address, new ByteArrayContent([1]), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, retries.For("retry-a:9000"));
        Assert.Equal(0, retries.For("retry-b:9000"));
    }

    [Fact]
    public async Task SendAsync_RetryAfterTimeHasPassed_SendsTheRemainingBudget()
    {
        var transport = new Transport
        {
            ["budget-a:9000"] = _ =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(300));
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            },
        };
        using var group = EndpointGroup.Parse("http://budget-a:9000,http://budget-b:9000", new BalancingOptions { TimeProvider = _time });
        using var http = Client(group, transport, new LogLines());
        using var request = new HttpRequestMessage(HttpMethod.Post, group.Address) { Content = new ByteArrayContent([1]) };
        RequestBudget.Set(request, TimeSpan.FromMilliseconds(1000), _time);

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["budget-a:9000", "budget-b:9000"], transport.Calls);
        Assert.Equal(["1000", "700"], transport.Budgets);
    }

    [Fact]
    public async Task SendAsync_BudgetSpentByTheFirstAttempt_NotRetried()
    {
        var transport = new Transport
        {
            ["spent-a:9000"] = _ =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(1200));
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            },
        };
        using var group = EndpointGroup.Parse("http://spent-a:9000,http://spent-b:9000", new BalancingOptions { TimeProvider = _time });
        using var http = Client(group, transport, new LogLines());
        using var request = new HttpRequestMessage(HttpMethod.Post, group.Address) { Content = new ByteArrayContent([1]) };
        RequestBudget.Set(request, TimeSpan.FromMilliseconds(1000), _time);

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(["spent-a:9000"], transport.Calls);
        Assert.Equal(TimeSpan.FromMilliseconds(-200), RequestBudget.Remaining(request));
    }

    private static HttpClient Client(EndpointGroup group, Transport transport, LogLines log)
    {
        // The picker draws the first candidates: requests go to the first available replica in list order.
        HttpMessageHandler chain = new BalancingHandler([group], new PowerOfTwoChoicesPicker(_ => 0), log) { InnerHandler = transport };
        if (BalancingRetry.CreateHandler(group.Options) is { } retry)
        {
            retry.InnerHandler = chain;
            chain = retry;
        }

        return new HttpClient(chain);
    }

    /// <summary>Answers per authority (default 200), recording each attempt and the budget header it carried.</summary>
    private sealed class Transport : HttpMessageHandler
    {
        private readonly Dictionary<string, Func<HttpRequestMessage, HttpResponseMessage>> _answers = [];

        public List<string> Calls { get; } = [];

        public List<string> Budgets { get; } = [];

        public Func<HttpRequestMessage, HttpResponseMessage> this[string authority]
        {
            set => _answers[authority] = value;
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var authority = request.RequestUri!.Authority;
            lock (Calls)
            {
                Calls.Add(authority);
                if (request.Headers.TryGetValues(GraphPipeTimeoutHeader.Name, out var values))
                {
                    Budgets.Add(string.Join(",", values));
                }
            }

            return Task.FromResult(_answers.TryGetValue(authority, out var answer) ? answer(request) : new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}
