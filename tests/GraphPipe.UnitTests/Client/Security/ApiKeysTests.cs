using GraphPipe.Client;

namespace GraphPipe.UnitTests.Client.Security;

public sealed class ApiKeysTests
{
    [Fact]
    public void ReadFile_KeysOnePerLineWithBlankLinesAndSpaces_TrimmedInOrder()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "  first-key \n\n second\r\n");

            Assert.Equal(["first-key", "second"], ApiKeys.ReadFile(path));
            Assert.Equal("first-key", ApiKeys.ReadFirst(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ReadFile_EmptyFile_ThrowsNamingTheFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => ApiKeys.ReadFile(path));

            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("tab\tkey")]
    [InlineData("é-non-ascii")]
    public void Check_NotAHeaderToken_Throws(string key) => Assert.Throws<InvalidDataException>(() => ApiKeys.Check(key));

    [Fact]
    public void Apply_KeyFileWithoutCertificate_Throws()
        => Assert.Throws<ArgumentException>(() => new ClientTlsOptions { ClientKeyFile = "client.key" }.Apply(new SocketsHttpHandler()));

    [Fact]
    public void Apply_MissingCaFile_ThrowsNamingIt()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => new ClientTlsOptions { TrustedCaFile = "/nonexistent/ca.pem" }.Apply(new SocketsHttpHandler()));

        Assert.Contains("/nonexistent/ca.pem", ex.Message, StringComparison.Ordinal);
    }
}
