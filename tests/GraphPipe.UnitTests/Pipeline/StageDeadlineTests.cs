using GraphPipe.Stages;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests;

/// <summary>The request deadline stages and decorators read: what is left, on the injected clock.</summary>
public sealed class StageDeadlineTests
{
    [Fact]
    public void Remaining_AsTimePasses_CountsDownToZero()
    {
        var time = new FakeTimeProvider();
        var deadline = StageDeadline.After(TimeSpan.FromSeconds(1), time);

        var atStart = deadline.Remaining;
        time.Advance(TimeSpan.FromMilliseconds(300));
        var later = deadline.Remaining;
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(deadline.IsSet);
        Assert.Equal(TimeSpan.FromSeconds(1), atStart);
        Assert.Equal(TimeSpan.FromMilliseconds(700), later);
        Assert.Equal(TimeSpan.Zero, deadline.Remaining);
    }

    [Fact]
    public void None_And_Infinite_HaveNoDeadline()
    {
        Assert.False(StageDeadline.None.IsSet);
        Assert.Equal(Timeout.InfiniteTimeSpan, StageDeadline.None.Remaining);
        Assert.False(StageDeadline.After(Timeout.InfiniteTimeSpan, new FakeTimeProvider()).IsSet);
    }
}
