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
    [InlineData("0.255.255.255", "unspecified")]
    [InlineData("1.0.0.0", null)]
    [InlineData("9.255.255.255", null)]
    [InlineData("11.0.0.0", null)]
    [InlineData("126.255.255.255", null)]
    [InlineData("127.255.255.254", "loopback")]
    [InlineData("128.0.0.0", null)]
    [InlineData("168.254.169.254", null)]
    [InlineData("169.253.255.255", null)]
    [InlineData("169.254.0.0", "link-local")]
    [InlineData("169.254.169.253", "link-local")]
    [InlineData("169.254.168.254", "link-local")]
    [InlineData("169.254.255.255", "link-local")]
    [InlineData("169.255.0.0", null)]
    [InlineData("171.16.0.1", null)]
    [InlineData("173.16.0.1", null)]
    [InlineData("192.167.255.255", null)]
    [InlineData("192.168.0.0", "private")]
    [InlineData("192.168.255.255", "private")]
    [InlineData("192.169.0.0", null)]
    [InlineData("192.0.0.1", "IETF protocol")]
    [InlineData("192.0.0.255", "IETF protocol")]
    [InlineData("192.0.1.0", null)]
    [InlineData("192.1.0.0", null)]
    [InlineData("191.168.0.1", null)]
    [InlineData("198.17.255.255", null)]
    [InlineData("198.18.0.0", "benchmarking")]
    [InlineData("198.19.255.255", "benchmarking")]
    [InlineData("198.20.0.0", null)]
    [InlineData("197.18.0.1", null)]
    [InlineData("99.64.0.1", null)]
    [InlineData("101.64.0.1", null)]
    [InlineData("223.255.255.255", null)]
    [InlineData("239.255.255.250", "multicast/reserved")]
    [InlineData("240.0.0.1", "multicast/reserved")]
    [InlineData("255.255.255.255", "multicast/reserved")]
    [InlineData("::ffff:192.168.0.1", "private")]
    [InlineData("::ffff:172.16.0.1", "private")]
    [InlineData("::ffff:100.64.0.1", "shared (CGNAT)")]
    [InlineData("::ffff:0.0.0.0", "unspecified")]
    [InlineData("::ffff:224.0.0.1", "multicast/reserved")]
    [InlineData("::2", "unspecified")] // IPv4-compatible ::0.0.0.2 (see the embedded-IPv4 cases below)
    [InlineData("febf:ffff::1", "link-local")]
    [InlineData("fec0::1", "link-local")]
    [InlineData("fe7f::1", null)]
    [InlineData("fbff::1", null)]
    [InlineData("fe00::1", null)]
    [InlineData("ff0e::1", "multicast")]
    [InlineData("fd00:ec2::254", "private (unique local)")]
    [InlineData("8.8.8.8", null)]
    [InlineData("::ffff:8.8.8.8", null)]
    [InlineData("2001:4860:4860::8888", null)]
    public void Classify_Address_GivesItsClass(string address, string? expected)
        => Assert.Equal(expected, NetworkPolicy.Classify(IPAddress.Parse(address)));

    /// <summary>
    /// IPv6 forms that carry an IPv4 address: each is classified by the address it carries (a NAT64
    /// gateway, a 6to4 relay or an old dual stack would deliver it there), and public ones stay public.
    /// </summary>
    [Theory]
    // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)
    [InlineData("64:ff9b::a9fe:a9fe", "cloud metadata")]
    [InlineData("64:ff9b::169.254.169.254", "cloud metadata")]
    [InlineData("64:ff9b::a00:1", "private")]
    [InlineData("64:ff9b::7f00:1", "loopback")]
    [InlineData("64:ff9b::808:808", null)]
    // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215): operator-defined mapping, the v4 in the last 32 bits at /96
    [InlineData("64:ff9b:1::a9fe:a9fe", "cloud metadata")]
    [InlineData("64:ff9b:1:ffff::c0a8:101", "private")]
    [InlineData("64:ff9b:1::808:808", "NAT64 local-use")]
    // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291)
    [InlineData("::a9fe:a9fe", "cloud metadata")]
    [InlineData("::7f00:1", "loopback")]
    [InlineData("::10.1.2.3", "private")]
    [InlineData("::808:808", null)]
    // IPv4-translated ::ffff:0:a.b.c.d (SIIT, RFC 2765)
    [InlineData("::ffff:0:a9fe:a9fe", "cloud metadata")]
    [InlineData("::ffff:0:7f00:1", "loopback")]
    [InlineData("::ffff:0:808:808", null)]
    // 6to4 2002:V4ADDR::/48 (RFC 3056): the v4 in bits 16..48
    [InlineData("2002:a9fe:a9fe::1", "cloud metadata")]
    [InlineData("2002:c0a8:101::", "private")]
    [InlineData("2002:7f00:1::1", "loopback")]
    [InlineData("2002:808:808::1", null)]
    // Teredo 2001:0::/32 (RFC 4380): server v4 in bits 32..64, client v4 in the last 32 bits XOR 0xffffffff
    [InlineData("2001:0:a9fe:a9fe::", "Teredo")]
    [InlineData("2001:0:808:808:0:0:5601:5601", "Teredo")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo")]
    // Public addresses one field away from an embedding form stay public (each prefix test needs all its parts)
    [InlineData("2003::1", null)] // 20xx:0000: is Teredo only as 2001:0000:
    [InlineData("3001::808:808", null)]
    [InlineData("2a00:1450::ffff:0:a00:1", null)] // ffff:0 after a non-zero prefix is not IPv4-translated
    [InlineData("2a00:1450::ff:0:a00:1", null)]
    public void Classify_Ipv6EmbeddingIpv4_ClassifiedByTheEmbeddedAddress(string address, string? expected)
        => Assert.Equal(expected, NetworkPolicy.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/")]
    [InlineData("http://[::a9fe:a9fe]/")]
    [InlineData("http://[2002:a9fe:a9fe::1]/")]
    [InlineData("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/")]
    public void CheckUri_Ipv6LiteralEmbeddingIpv4_Refused(string url)
        => Assert.NotNull(new NetworkPolicy().CheckUri(new Uri(url)));
}
