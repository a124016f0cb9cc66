using GraphPipe.Cli;

namespace GraphPipe.UnitTests;

public sealed class LoadGeneratorTests
{
    [Theory]
    [InlineData("1", new[] { 1 })]
    [InlineData("1,2,4,8", new[] { 1, 2, 4, 8 })]
    [InlineData("1-8", new[] { 1, 2, 4, 8 })]
    [InlineData("2-12", new[] { 2, 4, 8, 12 })]
    [InlineData("1,1,3", new[] { 1, 3 })]
    public void ParseConcurrency_ListsAndRanges_Levels(string text, int[] expected)
    {
        Assert.Equal(expected, LoadGenerator.ParseConcurrency(text));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("a")]
    [InlineData("8-1")]
    [InlineData("5000")]
    public void ParseConcurrency_Invalid_ClearError(string text)
    {
        var ex = Assert.Throws<CliException>(() => LoadGenerator.ParseConcurrency(text));
        Assert.Contains("--concurrency", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Percentile_InterpolatesBetweenRanks()
    {
        double[] sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Assert.Equal(5.5, LoadGenerator.Percentile(sorted, 0.5), 6);
        Assert.Equal(10, LoadGenerator.Percentile(sorted, 1.0), 6);
        Assert.Equal(9.91, LoadGenerator.Percentile(sorted, 0.99), 6);
        Assert.Equal(0, LoadGenerator.Percentile([], 0.5));
    }
}
