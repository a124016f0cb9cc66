using System.CommandLine;
using GraphPipe.Cli;
using GraphPipe.Shared;

namespace GraphPipe.UnitTests.Cli;

/// <summary>
/// The client TLS and key flags as graphpipe's client commands and classy bind them (one linked source file),
/// and the option set metadata, infer and bench share (<see cref="ClientConnection"/>).
/// </summary>
public sealed class ClientAuthFlagsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("graphpipe-flags-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (ClientAuthFlags Flags, ParseResult Parse) Parse(params string[] args)
    {
        var flags = new ClientAuthFlags(string.Empty, "GP_TEST_FLAGS_", "the stage");
        var command = new RootCommand();
        flags.AddTo(command);
        return (flags, command.Parse(args));
    }

    [Fact]
    public void Tls_AllFlags_GiveTheClientTlsOptions()
    {
        var (flags, parse) = Parse("--ca", "ca.pem", "--client-cert", "me.pem", "--client-key", "me.key");

        var tls = flags.Tls(parse);

        Assert.Equal(("ca.pem", "me.pem", "me.key"), (tls.TrustedCaFile, tls.ClientCertificateFile, tls.ClientKeyFile));
    }

    [Fact]
    public void Tls_KeyWithoutCertificate_ErrorNamingBothFlags()
    {
        var (flags, parse) = Parse("--client-key", "me.key");

        var error = Assert.Throws<ArgumentException>(() => flags.Tls(parse));

        Assert.Equal("--client-key needs --client-cert", error.Message);
    }

    [Fact]
    public void ApiKey_File_FirstLineSent()
    {
        var file = Path.Combine(_dir, "api.key");
        File.WriteAllText(file, "first-key_0123\nsecond-key_0123\n");
        var (flags, parse) = Parse("--api-key-file", file);

        Assert.Equal("first-key_0123", flags.ApiKey(parse));
    }

    [Fact]
    public void ApiKey_NoFileNoEnvironment_Null()
    {
        var (flags, parse) = Parse();

        Assert.Null(flags.ApiKey(parse));
        Assert.Null(flags.Tls(parse).TrustedCaFile);
    }

    [Fact]
    public void ClientConnection_MetadataInferBench_BindTheSameFlags()
    {
        var command = new Command("any");
        new ClientConnection().AddTo(command);

        var names = command.Options.Select(o => o.Name).ToArray();

        Assert.Equal(["--ca", "--client-cert", "--client-key", "--api-key-file", "--no-retry", "--eject-after", "--eject-for", "--dns-refresh"], names);
    }
}
