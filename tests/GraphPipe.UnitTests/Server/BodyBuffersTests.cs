using GraphPipe.Server.Serving;

namespace GraphPipe.UnitTests;

/// <summary>The request bodies' buffers: large ones come back to their own pool from any thread.</summary>
public sealed class BodyBuffersTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rent_LargeBufferReturnedOnAnotherThread_SameArrayRentedAgain()
    {
        // An odd size class (3 MB -> 4 MB) that no other test uses, so the pool holds only this array.
        var first = BodyBuffers.Rent((3 * 1024 * 1024) + 7);
        await Task.Run(() => BodyBuffers.Return(first), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        var again = BodyBuffers.Rent((3 * 1024 * 1024) + 7);
        BodyBuffers.Return(again);

        Assert.Same(first, again);
        Assert.Equal(4 * 1024 * 1024, first.Length);
    }

    [Fact]
    public void Return_LargeArrayThePoolDidNotSize_DroppedWithoutThrowing()
    {
        var odd = new byte[(512 * 1024) + 1];

        BodyBuffers.Return(odd);
        var rented = BodyBuffers.Rent((512 * 1024) + 1);
        BodyBuffers.Return(rented);

        Assert.NotSame(odd, rented);
        Assert.Equal(1024 * 1024, rented.Length);
    }
}
