using System.Net;
using GraphPipe.Pipelines;

namespace GraphPipe.UnitTests;

/// <summary>The SSRF policy's address classes, edges included; IPv4-mapped IPv6 is classified as the IPv4 address it carries.</summary>
public sealed class NetworkPolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("172.15.255.255", null)]
    [InlineData("172.16.0.0", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("172.32.0.0", null)]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.63.255.255", null)]
    [InlineData("100.64.0.0", "shared (CGNAT)")]
    [InlineData("100.127.255.255", "shared (CGNAT)")]
    [InlineData("100.128.0.0", null)]
    [InlineData("169.254.169.254", "cloud metadata")]
    [InlineData("::ffff:169.254.169.254", "cloud metadata")]
    [InlineData("169.254.1.1", "link-local")]
    [InlineData("::ffff:169.254.1.1", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fc00::1", "private (unique local)")]
    [InlineData("fdff:ffff::1", "private (unique local)")]
    [InlineData("224.0.0.1", "multicast/reserved")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("8.8.8.8", null)]
    [InlineData("::ffff:8.8.8.8", null)]
    [InlineData("2001:4860:4860::8888", null)]
    public void Classify_Address_GivesItsClass(string address, string? expected)
        => Assert.Equal(expected, NetworkPolicy.Classify(IPAddress.Parse(address)));
}
