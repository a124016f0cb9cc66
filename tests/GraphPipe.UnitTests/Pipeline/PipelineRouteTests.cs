using GraphPipe.Client.Balancing;
using GraphPipe.Pipelines;

namespace GraphPipe.UnitTests;

/// <summary>
/// A request's config read as hops (spaces or commas) whose replicas are separated by '|', and the resolver that
/// checks every replica of a hop against the SSRF policy before anything is sent (no network here).
/// </summary>
public sealed class PipelineRouteTests
{
    [Fact]
    public void Parse_OneUrl_OneHopNotReplicated()
    {
        var route = PipelineRoute.Parse("http://10.0.0.1:9000/");

        Assert.Equal(new Uri("http://10.0.0.1:9000/"), route.Next);
        Assert.False(route.IsReplicated);
        Assert.Equal(string.Empty, route.Rest);
    }

    [Fact]
    public void Parse_ReplicasThenAnotherHop_FirstHopReplicatedRestPassedOn()
    {
        var route = PipelineRoute.Parse("http://a:9000|http://b:9000 , http://c:9100");

        Assert.Null(route.Error);
        Assert.True(route.IsReplicated);
        Assert.Equal("http://a:9000|http://b:9000", route.NextHop);
        Assert.Equal(["http://a:9000", "http://b:9000"], route.NextEndpoints);
        Assert.Equal(new Uri("http://a:9000/"), route.Next);
        Assert.Equal("http://c:9100", route.Rest);
    }

    [Fact]
    public void Parse_DnsEntry_ReplicatedAndNamedByItsHttpAddress()
    {
        var route = PipelineRoute.Parse("dns:///model.svc:9000");

        Assert.True(route.IsReplicated);
        Assert.Equal(new Uri("http://model.svc:9000/"), route.Next);
    }

    [Theory]
    [InlineData("http://a:9000|ftp://b:21", "endpoint 'ftp://b:21' of next stage 'http://a:9000|ftp://b:21'")]
    [InlineData("file:///etc/passwd", "config 'file:///etc/passwd' is not a next-stage URL")]
    [InlineData("|", "names no next-stage URL")]
    public void Parse_NotAUrl_ErrorNamingTheEntry(string config, string expected)
    {
        var route = PipelineRoute.Parse(config);

        Assert.Null(route.Next);
        Assert.Contains(expected, route.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ListWithAPrivateEndpoint_RefusedNamingIt()
    {
        using var http = new HttpClient();
        using var groups = new NextHopGroups(new BalancingOptions());
        var resolver = new GraphPipeNextStageResolver(http, new NetworkPolicy(), http, groups);

        var next = resolver.Resolve(PipelineRoute.Parse("http://93.184.215.14:9000|http://169.254.169.254/latest"), out var refusal);

        Assert.Null(next);
        Assert.StartsWith("endpoint http://169.254.169.254/latest refused: 169.254.169.254 resolves to cloud metadata address", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AllowedList_OneTargetPerListKeepingItsHealth()
    {
        using var http = new HttpClient();
        using var groups = new NextHopGroups(new BalancingOptions());
        var resolver = new GraphPipeNextStageResolver(http, NetworkPolicy.AllowAll, http, groups);

        var first = resolver.Resolve(PipelineRoute.Parse("http://10.0.0.1:9000|http://10.0.0.2:9000"), out var refusal);
        groups.Get("http://10.0.0.1:9000|http://10.0.0.2:9000", out _)!.Endpoints[0].ReportFailure(DateTimeOffset.UtcNow, new BalancingOptions());
        var again = groups.Get("http://10.0.0.1:9000|http://10.0.0.2:9000", out _)!;

        Assert.Null(refusal);
        Assert.Equal("10.0.0.1:9000", first!.Target);
        Assert.Equal(1, again.Endpoints[0].ConsecutiveFailures);
    }

    [Fact]
    public void Resolve_ListWithoutABalancedClient_RefusedAsNotSupported()
    {
        using var http = new HttpClient();
        var resolver = new GraphPipeNextStageResolver(http, NetworkPolicy.AllowAll);

        Assert.Null(resolver.Resolve(PipelineRoute.Parse("http://10.0.0.1:9000|http://10.0.0.2:9000"), out var refusal));
        Assert.Equal("this stage takes one URL per next hop (no replica lists)", refusal);
    }

    [Fact]
    public void Get_CapacityReached_UrlListsBalancedPerRequestDnsRefused()
    {
        using var groups = new NextHopGroups(new BalancingOptions(), capacity: 1);

        var kept = groups.Get("http://10.0.0.1:9000|http://10.0.0.2:9000", out _);
        using var transient = groups.Get("http://10.0.0.3:9000|http://10.0.0.4:9000", out var transientError);
        var dns = groups.Get("dns:///model.svc:9000", out var dnsError);

        Assert.Same(kept, groups.Get("http://10.0.0.1:9000|http://10.0.0.2:9000", out _));
        Assert.NotNull(transient);
        Assert.NotSame(transient, groups.Get("http://10.0.0.3:9000|http://10.0.0.4:9000", out _));
        Assert.Null(transientError);
        Assert.Null(dns);
        Assert.Contains("dns:/// entry cannot be added", dnsError, StringComparison.Ordinal);
    }
}
