using GraphPipe.Client.Balancing;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests.Client.Balancing;

/// <summary>Passive health on a fake clock: eject after N consecutive failures, probe after the period, back on the first success.</summary>
public sealed class PassiveHealthTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly BalancingOptions _options = new() { FailuresToEject = 3, EjectionPeriod = TimeSpan.FromSeconds(5) };
    private readonly BalancedEndpoint _replica = new(new Uri("http://replica:9000/"));

    [Fact]
    public void ReportFailure_ThirdConsecutive_EjectsForThePeriod()
    {
        Assert.False(_replica.ReportFailure(_time.GetUtcNow(), _options));
        Assert.False(_replica.ReportFailure(_time.GetUtcNow(), _options));
        Assert.True(_replica.IsAvailable(_time.GetUtcNow()));

        Assert.True(_replica.ReportFailure(_time.GetUtcNow(), _options));

        Assert.False(_replica.IsAvailable(_time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(_replica.IsAvailable(_time.GetUtcNow()));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(_replica.IsAvailable(_time.GetUtcNow()));
    }

    [Fact]
    public void ReportSuccess_BetweenFailures_StartsTheCountAgain()
    {
        _replica.ReportFailure(_time.GetUtcNow(), _options);
        _replica.ReportFailure(_time.GetUtcNow(), _options);
        _replica.ReportSuccess();
        _replica.ReportFailure(_time.GetUtcNow(), _options);
        _replica.ReportFailure(_time.GetUtcNow(), _options);

        Assert.Equal(2, _replica.ConsecutiveFailures);
        Assert.True(_replica.IsAvailable(_time.GetUtcNow()));
    }

    [Fact]
    public void ReportFailure_ProbeAfterThePeriodFails_EjectsAgainAtOnce()
    {
        EjectNow();
        _time.Advance(_options.EjectionPeriod);

        Assert.True(_replica.ReportFailure(_time.GetUtcNow(), _options));

        Assert.False(_replica.IsAvailable(_time.GetUtcNow()));
        Assert.Equal(_time.GetUtcNow() + _options.EjectionPeriod, _replica.EjectedUntil);
    }

    [Fact]
    public void ReportSuccess_ProbeAfterThePeriodSucceeds_ReplicaIsBack()
    {
        EjectNow();
        _time.Advance(_options.EjectionPeriod);

        _replica.ReportSuccess();

        Assert.Equal(0, _replica.ConsecutiveFailures);
        Assert.False(_replica.ReportFailure(_time.GetUtcNow(), _options));
        Assert.True(_replica.IsAvailable(_time.GetUtcNow()));
    }

    [Fact]
    public void ReportFailure_WhileEjected_DoesNotExtendTheEjection()
    {
        EjectNow();
        var until = _replica.EjectedUntil;
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.False(_replica.ReportFailure(_time.GetUtcNow(), _options));

        Assert.Equal(until, _replica.EjectedUntil);
    }

    private void EjectNow()
    {
        for (var i = 0; i < _options.FailuresToEject; i++) _replica.ReportFailure(_time.GetUtcNow(), _options);
        Assert.False(_replica.IsAvailable(_time.GetUtcNow()));
    }
}
