using GraphPipe.Server;
using GraphPipe.Server.Security;
using Microsoft.Extensions.Options;

namespace GraphPipe.UnitTests.Server.Security;

public sealed class ApiKeyVerifierTests
{
    private static ApiKeyVerifier Verifier(params string[] keys)
    {
        var options = new ApiKeyOptions();
        foreach (var key in keys) options.Keys.Add(key);
        return new ApiKeyVerifier(Options.Create(options));
    }

    [Theory]
    [InlineData("old-key")]
    [InlineData("new-key-2")]
    public void IsValid_AnyConfiguredKey_True(string key) => Assert.True(Verifier("old-key", "new-key-2").IsValid(key));

    [Theory]
    [InlineData("")]
    [InlineData("old-ke")]
    [InlineData("old-key ")]
    [InlineData("OLD-KEY")]
    [InlineData("old-keyold-key")]
    public void IsValid_AnythingElse_False(string key) => Assert.False(Verifier("old-key", "new-key-2").IsValid(key));

    [Fact]
    public void IsValid_LongerThanTheLimit_FalseWithoutThrowing()
        => Assert.False(Verifier("k").IsValid(new string('k', GraphPipe.Client.ApiKeys.MaxLength + 1)));

    [Fact]
    public void Validate_NoKeyOrAKeyWithSpaces_Fails()
    {
        var none = new ApiKeyOptions();
        var spaced = new ApiKeyOptions { Keys = { "a b" } };

        Assert.NotEmpty(none.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(none)));
        Assert.NotEmpty(spaced.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(spaced)));
    }
}
