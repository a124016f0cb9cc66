using System.Diagnostics;

namespace GraphPipe.BenchSuite;

/// <summary>How long and how wide one closed-loop run is.</summary>
/// <param name="Concurrency">Workers, each with one operation in flight at a time.</param>
/// <param name="Duration">Measured time (after the warm-up).</param>
/// <param name="Warmup">Unmeasured time first: JIT, connection pools, ONNX Runtime arenas.</param>
/// <param name="MinOperations">Keep going past <paramref name="Duration"/> until this many operations completed (slow operations still get enough samples).</param>
internal sealed record LoopSettings(int Concurrency, TimeSpan Duration, TimeSpan Warmup, int MinOperations = 0);

/// <summary>What a closed-loop run measured: per-operation latencies, throughput and failures.</summary>
internal sealed class LoopResult
{
    public LoopResult(Samples latencies, double seconds, IReadOnlyDictionary<string, int> errors, int concurrency)
    {
        Latencies = latencies;
        Seconds = seconds;
        Errors = errors;
        Concurrency = concurrency;
    }

    public Samples Latencies { get; }

    public double Seconds { get; }

    public IReadOnlyDictionary<string, int> Errors { get; }

    public int Concurrency { get; }

    public long Succeeded => Latencies.Count;

    public double OperationsPerSecond => Seconds > 0 ? Succeeded / Seconds : 0;

    public int ErrorCount => Errors.Values.Sum();

    /// <summary>Merges rounds: latencies pooled, throughput = all operations over all measured time.</summary>
    public static LoopResult Merge(IReadOnlyList<LoopResult> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        var samples = new Samples();
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        double seconds = 0;
        foreach (var r in rounds)
        {
            samples.Merge(r.Latencies);
            seconds += r.Seconds;
            foreach (var (kind, n) in r.Errors) errors[kind] = errors.GetValueOrDefault(kind) + n;
        }

        return new LoopResult(samples, seconds, errors, rounds.Count == 0 ? 0 : rounds[0].Concurrency);
    }
}

/// <summary>
/// Closed-loop concurrency runner for any async operation (an HTTP call, an in-process stage, a model
/// run): N workers each run the operation back to back; latency is timed per operation. Unlike
/// <see cref="LoadGenerator"/>, which posts fixed bytes to a URL, this takes a delegate, so a row can
/// compare an HTTP round trip with the same work done in-process. Failures are counted by exception type
/// and excluded from the latencies.
/// </summary>
internal static class ClosedLoopRunner
{
    /// <param name="operation">Called with the worker index (0..concurrency-1), so a worker can own per-worker state.</param>
    public static async Task<LoopResult> RunAsync(Func<int, CancellationToken, ValueTask> operation, LoopSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.Concurrency, 1);
        if (settings.Warmup > TimeSpan.Zero)
        {
            await RunWorkersAsync(operation, settings.Concurrency, settings.Warmup, 0, null, cancellationToken).ConfigureAwait(false);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var perWorker = new List<double>[settings.Concurrency];
        // Process-wide: async continuations hop threads, and an in-process server's allocations count too.
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var start = Stopwatch.GetTimestamp();
        var errors = await RunWorkersAsync(operation, settings.Concurrency, settings.Duration, settings.MinOperations, perWorker, cancellationToken).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        var samples = new Samples();
        var total = 0L;
        foreach (var list in perWorker)
        {
            foreach (var ns in list) samples.Add(ns);
            total += list.Count;
        }

        samples.AddTotals(total + errors.Values.Sum(), allocated);
        return new LoopResult(samples, seconds, errors, settings.Concurrency);
    }

    /// <summary>Runs the operation unmeasured (JIT tier-up, connection pools, ONNX Runtime arenas); failures are ignored here and counted when measuring.</summary>
    public static async Task WarmAsync(Func<int, CancellationToken, ValueTask> operation, int concurrency, TimeSpan time, CancellationToken cancellationToken)
        => await RunWorkersAsync(operation, concurrency, time, 0, null, cancellationToken).ConfigureAwait(false);

    private static async Task<Dictionary<string, int>> RunWorkersAsync(Func<int, CancellationToken, ValueTask> operation, int concurrency, TimeSpan duration, int minOperations, List<double>[]? perWorker, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var completed = 0;
        var failed = 0;
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            var worker = w;
            var mine = perWorker is null ? null : perWorker[w] = [];
            workers[w] = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < deadline || Volatile.Read(ref completed) < minOperations)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        await operation(worker, cancellationToken).ConfigureAwait(false);
                        mine?.Add(Stats.ElapsedNs(t0));
                        Interlocked.Increment(ref completed);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        lock (errors)
                        {
                            var kind = ex.GetType().Name;
                            errors[kind] = errors.GetValueOrDefault(kind) + 1;
                        }

                        // A broken operation must not spin (minOperations could never be reached): stop once failures dominate.
                        var failures = Interlocked.Increment(ref failed);
                        if (failures > 100 && Volatile.Read(ref completed) < failures)
                        {
                            return;
                        }
                    }
                }
            }, cancellationToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return errors;
    }
}
