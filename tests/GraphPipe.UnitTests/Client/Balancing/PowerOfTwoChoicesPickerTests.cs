using GraphPipe.Client.Balancing;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests.Client.Balancing;

/// <summary>Power of two choices on in-flight counts, with ejected replicas and the replica a retry avoids left out; chance is scripted.</summary>
public sealed class PowerOfTwoChoicesPickerTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Pick_ReplicasEjectedByAnotherRequestWhilePicking_TakesOneLeftInsteadOfThrowing()
    {
        // Seen under load (ReplicaTests, --next over 2 replicas, one killed): a concurrent failure ejected a
        // replica between counting the candidates and walking them, and the walk found fewer than counted.
        var options = new BalancingOptions { FailuresToEject = 1 };
        var (a, b, c) = (Replica("a", inFlight: 0), Replica("b", inFlight: 0), Replica("c", inFlight: 0));
        var picker = new PowerOfTwoChoicesPicker(max =>
        {
            b.ReportFailure(Now, options);
            c.ReportFailure(Now, options);
            return max - 1;
        });

        Assert.Same(a, picker.Pick([a, b, c], Now));
    }

    [Fact]
    public void Pick_TwoCandidates_TakesTheOneWithFewerInFlight()
    {
        var (a, b, c) = (Replica("a", inFlight: 3), Replica("b", inFlight: 0), Replica("c", inFlight: 5));
        // Draws 0 then 0: the first candidate and (skipping it) the second: a vs b.
        var picker = new PowerOfTwoChoicesPicker(Scripted(0, 0));

        Assert.Same(b, picker.Pick([a, b, c], Now));
    }

    [Fact]
    public void Pick_TwoCandidates_NeverTakesTheBusierOne()
    {
        var (a, b, c) = (Replica("a", inFlight: 3), Replica("b", inFlight: 0), Replica("c", inFlight: 5));
        var picker = new PowerOfTwoChoicesPicker(new Random(7).Next);

        var picks = Enumerable.Range(0, 300).Select(_ => picker.Pick([a, b, c], Now)).ToArray();

        // c, the busiest, loses every comparison it is drawn into; b wins every one it is in.
        Assert.DoesNotContain(c, picks);
        Assert.Contains(a, picks);
        Assert.True(picks.Count(p => p == b) > picks.Count(p => p == a), $"b {picks.Count(p => p == b)}, a {picks.Count(p => p == a)}");
    }

    [Fact]
    public void Pick_EjectedReplica_IsLeftOut()
    {
        var options = new BalancingOptions { FailuresToEject = 1 };
        var (a, b) = (Replica("a"), Replica("b", inFlight: 9));
        a.ReportFailure(Now, options);
        var picker = new PowerOfTwoChoicesPicker(new Random(1).Next);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Same(b, picker.Pick([a, b], Now)));
    }

    [Fact]
    public void Pick_AvoidingTheReplicaJustTried_TakesAnother()
    {
        var (a, b) = (Replica("a"), Replica("b", inFlight: 9));
        var picker = new PowerOfTwoChoicesPicker(new Random(1).Next);

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Same(b, picker.Pick([a, b], Now, avoid: [a])));
    }

    [Fact]
    public void Pick_OnlyTheAvoidedReplicaAvailable_TriesItAgain()
    {
        var options = new BalancingOptions { FailuresToEject = 1 };
        var (a, b) = (Replica("a"), Replica("b"));
        b.ReportFailure(Now, options);

        Assert.Same(a, new PowerOfTwoChoicesPicker(Scripted(0, 0)).Pick([a, b], Now, avoid: [a]));
    }

    [Fact]
    public void Pick_AfterTwoFailedAttempts_TakesTheThirdReplica()
    {
        var (a, b, c) = (Replica("a"), Replica("b"), Replica("c", inFlight: 9));

        Assert.All(Enumerable.Range(0, 50), _ => Assert.Same(c, new PowerOfTwoChoicesPicker(new Random(3).Next).Pick([a, b, c], Now, avoid: [a, b])));
    }

    [Fact]
    public void Pick_EveryReplicaEjected_TakesTheOneBackSoonest()
    {
        var time = new FakeTimeProvider(Now);
        var options = new BalancingOptions { FailuresToEject = 1, EjectionPeriod = TimeSpan.FromSeconds(10) };
        var (a, b) = (Replica("a"), Replica("b"));
        a.ReportFailure(time.GetUtcNow(), options);
        time.Advance(TimeSpan.FromSeconds(2));
        b.ReportFailure(time.GetUtcNow(), options);

        Assert.Same(a, new PowerOfTwoChoicesPicker(Scripted(0, 0)).Pick([a, b], time.GetUtcNow()));
    }

    [Fact]
    public void Pick_NoReplica_ReturnsNull()
        => Assert.Null(new PowerOfTwoChoicesPicker().Pick([], Now));

    private static BalancedEndpoint Replica(string name, int inFlight = 0)
    {
        var endpoint = new BalancedEndpoint(new Uri($"http://{name}:9000/"));
        for (var i = 0; i < inFlight; i++) endpoint.Started();
        return endpoint;
    }

    private static Func<int, int> Scripted(params int[] draws)
    {
        var i = 0;
        return max => Math.Min(draws[i++ % draws.Length], max - 1);
    }
}
