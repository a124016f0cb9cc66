using GraphPipe.Onnx;

namespace GraphPipe.UnitTests;

public sealed class CpuListTests
{
    [Theory]
    [InlineData("1", new[] { 1 })]
    [InlineData("0,4-5", new[] { 0, 4, 5 })]
    [InlineData(" 2-3 , 1\n", new[] { 1, 2, 3 })]
    [InlineData("3,3,1-3", new[] { 1, 2, 3 })]
    [InlineData("1023", new[] { 1023 })]
    public void TryParse_TasksetLists_AscendingDistinctCpus(string text, int[] expected)
    {
        Assert.True(CpuList.TryParse(text, out var cpus));
        Assert.Equal(expected, cpus);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1-")]
    [InlineData("-1")]
    [InlineData("3-1")]
    [InlineData("1024")]
    [InlineData("one")]
    [InlineData("1,,2")]
    [InlineData("+1")]
    public void TryParse_NotAList_False(string text) => Assert.False(CpuList.TryParse(text, out _));

    [Theory]
    [InlineData(new[] { 0, 1, 2, 4 }, "0-2,4")]
    [InlineData(new[] { 7 }, "7")]
    [InlineData(new[] { 1, 3, 5, 6 }, "1,3,5-6")]
    [InlineData(new int[0], "")]
    public void Format_SortedCpus_RangesAsLinuxWritesThem(int[] cpus, string expected) => Assert.Equal(expected, CpuList.Format(cpus));
}
