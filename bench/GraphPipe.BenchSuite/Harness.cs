using System.Diagnostics;

namespace GraphPipe.BenchSuite;

/// <summary>Per-operation timings (nanoseconds) and allocations collected by <see cref="Harness"/> or <see cref="ClosedLoopRunner"/>.</summary>
internal sealed class Samples
{
    private readonly List<double> _ns = [];

    public long Operations { get; private set; }

    public long AllocatedBytes { get; private set; }

    public int Count => _ns.Count;

    public void Add(double nanosecondsPerOp) => _ns.Add(nanosecondsPerOp);

    public void AddTotals(long operations, long allocatedBytes)
    {
        Operations += operations;
        AllocatedBytes += allocatedBytes;
    }

    /// <summary>Adds another run's samples: the suite alternates ours and baseline in rounds, so drift in machine load hits both alike.</summary>
    public void Merge(Samples other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _ns.AddRange(other._ns);
        AddTotals(other.Operations, other.AllocatedBytes);
    }

    public double[] Sorted()
    {
        var sorted = _ns.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    public double MedianNs => Stats.Percentile(Sorted(), 0.5);

    public double P90Ns => Stats.Percentile(Sorted(), 0.9);

    public double AllocatedBytesPerOp => Operations == 0 ? 0 : (double)AllocatedBytes / Operations;
}

internal static class Stats
{
    /// <summary>Linear interpolation between closest ranks (the definition <c>graphpipe bench</c> uses, so the two agree).</summary>
    public static double Percentile(double[] sorted, double p) => Shared.Percentiles.Interpolated(sorted, p);

    /// <summary>Nanoseconds since a <see cref="Stopwatch.GetTimestamp"/> value, at the timer's full resolution (a TimeSpan would round to 100 ns).</summary>
    public static double ElapsedNs(long startTimestamp) => (Stopwatch.GetTimestamp() - startTimestamp) * (1e9 / Stopwatch.Frequency);

    /// <summary><paramref name="numerator"/>/<paramref name="denominator"/>, or NaN when the denominator is not positive (a skipped or failed side).</summary>
    public static double Ratio(double numerator, double denominator)
        => denominator > 0 && !double.IsNaN(numerator) ? numerator / denominator : double.NaN;
}

/// <summary>
/// A small synchronous measurement harness (the suite's alternative to BenchmarkDotNet, which takes
/// minutes per benchmark): warm-up, then many timed samples. Operations shorter than
/// <see cref="MinSampleNs"/> are timed in batches so timer overhead stays below ~1%; each sample is
/// the batch time divided by the batch size.
/// </summary>
internal static class Harness
{
    private const double MinSampleNs = 20_000;
    private const int MaxSamples = 200_000;

    /// <summary>
    /// Runs <paramref name="operation"/> for <paramref name="time"/> unmeasured. Tiered JIT only recompiles a
    /// method at full optimisation some 100 ms after calls settle, and later still on a busy machine: without
    /// this, the first operation measured pays for tier-0 code (seen: decode 3.3 µs instead of 0.5 µs).
    /// </summary>
    public static void Warm(Action operation, TimeSpan time)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var start = Stopwatch.GetTimestamp();
        do
        {
            operation();
        }
        while (Stopwatch.GetElapsedTime(start) < time);
    }

    public static Samples Measure(Action operation, TimeSpan warmup, TimeSpan duration, int minSamples, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);

        // A short settle (caches, branch predictors) that also calibrates the batch size; JIT tier-up is
        // the job of Warm, run once per operation beforehand.
        long warmOps = 0;
        var warmStart = Stopwatch.GetTimestamp();
        do
        {
            operation();
            warmOps++;
        }
        while (warmOps < 3 || Stopwatch.GetElapsedTime(warmStart) < warmup);

        var opNs = Stats.ElapsedNs(warmStart) / warmOps;
        var batch = (int)Math.Clamp(Math.Ceiling(MinSampleNs / Math.Max(opNs, 1)), 1, 1 << 20);
        var times = new double[MaxSamples];

        // Collect now so a collection owed by the warm-up does not land in the measured samples.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var count = 0;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (count < MaxSamples && (count < minSamples || Stopwatch.GetTimestamp() < deadline))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var t0 = Stopwatch.GetTimestamp();
            for (var i = 0; i < batch; i++)
            {
                operation();
            }

            times[count++] = Stats.ElapsedNs(t0) / batch;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var samples = new Samples();
        for (var i = 0; i < count; i++) samples.Add(times[i]);
        samples.AddTotals((long)count * batch, allocated);
        return samples;
    }
}
