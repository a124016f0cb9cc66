using System.Net;
using GraphPipe.Client.Balancing;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests.Client.Balancing;

/// <summary>Endpoint lists and DNS names re-resolved on a (fake) timer, as a Kubernetes headless Service's pods come and go.</summary>
public sealed class EndpointGroupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Parse_CommaSeparatedList_EveryReplicaAddressIsTheFirst()
    {
        using var group = EndpointGroup.Parse("http://10.0.0.1:9000, http://10.0.0.2:9000/,https://model.example:9443/v1");

        Assert.Equal(new Uri("http://10.0.0.1:9000/"), group.Address);
        Assert.Equal(["http://10.0.0.1:9000/", "http://10.0.0.2:9000/", "https://model.example:9443/v1"], group.Endpoints.Select(e => e.Address.ToString()));
        Assert.False(group.UsesDns);
    }

    [Theory]
    [InlineData("ftp://10.0.0.1:21", "scheme 'ftp'")]
    [InlineData("model:9000", "scheme 'model'")]
    [InlineData("not a url", "'not' is not a URL")]
    [InlineData("dns://8.8.8.8/model:9000", "three slashes")]
    [InlineData("dns:///model", "a port")]
    [InlineData(" , ", "no endpoint")]
    public void Parse_NotAnEndpoint_FormatExceptionNamesIt(string spec, string expected)
    {
        var error = Assert.Throws<FormatException>(() => EndpointGroup.Parse(spec));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetEndpointsAsync_DnsName_OneReplicaPerAddressWithThePort()
    {
        var answers = new Dictionary<string, IPAddress[]> { ["model.ns.svc"] = [IPAddress.Parse("10.1.0.5"), IPAddress.Parse("fd00::7")] };
        using var group = EndpointGroup.Parse("dns:///model.ns.svc:9000", resolve: Resolver(answers));

        var endpoints = await group.GetEndpointsAsync(Ct);

        Assert.Equal(new Uri("http://model.ns.svc:9000/"), group.Address);
        Assert.Equal(["http://10.1.0.5:9000/", "http://[fd00::7]:9000/"], endpoints.Select(e => e.Address.ToString()));
    }

    [Fact]
    public async Task GetEndpointsAsync_Localhost_ResolvesToLoopback()
    {
        using var group = EndpointGroup.Parse("dns:///localhost:9000");

        var endpoints = await group.GetEndpointsAsync(Ct);

        Assert.NotEmpty(endpoints);
        Assert.All(endpoints, e => Assert.True(IPAddress.IsLoopback(IPAddress.Parse(e.Address.Host.Trim('[', ']'))), e.Address.ToString()));
    }

    [Fact]
    public async Task Timer_PodsComeAndGo_ReplicasFollowAndSurvivorsKeepTheirState()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new BalancingOptions { TimeProvider = time, DnsRefreshInterval = TimeSpan.FromSeconds(10), FailuresToEject = 1 };
        var answers = new Dictionary<string, IPAddress[]> { ["model"] = [IPAddress.Parse("10.1.0.1"), IPAddress.Parse("10.1.0.2")] };
        using var group = EndpointGroup.Parse("dns:///model:9000", options, Resolver(answers));
        var first = await group.GetEndpointsAsync(Ct);
        var survivor = first.Single(e => e.Address.Host == "10.1.0.2");
        survivor.ReportFailure(time.GetUtcNow(), options);

        answers["model"] = [IPAddress.Parse("10.1.0.2"), IPAddress.Parse("10.1.0.3")];
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(["10.1.0.1", "10.1.0.2"], group.Endpoints.Select(e => e.Address.Host));
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(["10.1.0.2", "10.1.0.3"], group.Endpoints.Select(e => e.Address.Host));
        Assert.Same(survivor, group.Endpoints[0]);
        Assert.Equal(1, group.Endpoints[0].ConsecutiveFailures);
    }

    [Fact]
    public async Task RefreshAsync_LookupFails_KeepsTheLastAddresses()
    {
        var fail = false;
        using var group = EndpointGroup.Parse("dns:///model:9000", resolve: (host, _) => fail
            ? Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound))
            : Task.FromResult(new[] { IPAddress.Parse("10.1.0.1") }));
        await group.GetEndpointsAsync(Ct);

        fail = true;
        await group.RefreshAsync(Ct);

        Assert.Equal("http://10.1.0.1:9000/", Assert.Single(group.Endpoints).Address.ToString());
    }

    private static EndpointGroup.DnsResolve Resolver(Dictionary<string, IPAddress[]> answers)
        => (host, _) => Task.FromResult(answers[host]);
}
