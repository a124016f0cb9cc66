using GraphPipe.Client;

namespace GraphPipe.UnitTests;

/// <summary>The <c>GraphPipe-Timeout</c> header: whole milliseconds, 1 to 8 digits, nothing else.</summary>
public sealed class GraphPipeTimeoutHeaderTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("1000", 1000)]
    [InlineData(" 250 ", 250)]
    [InlineData("99999999", 99_999_999)]
    public void TryParse_Digits_GivesMilliseconds(string value, long ms)
    {
        Assert.True(GraphPipeTimeoutHeader.TryParse(value, out var budget));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), budget);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1000m")]
    [InlineData("123456789")]
    [InlineData("١٢٣")]
    public void TryParse_NotOneToEightAsciiDigits_False(string value)
        => Assert.False(GraphPipeTimeoutHeader.TryParse(value, out _));

    [Theory]
    [InlineData(999.9, "999")]
    [InlineData(-5, "0")]
    [InlineData(1e12, "99999999")]
    public void Format_Budget_WholeMillisecondsClamped(double ms, string expected)
        => Assert.Equal(expected, GraphPipeTimeoutHeader.Format(TimeSpan.FromMilliseconds(ms)));
}
