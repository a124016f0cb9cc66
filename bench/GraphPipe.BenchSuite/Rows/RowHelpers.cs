using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>Pieces the comparison rows share: alternating rounds, raw posts, row construction from loop results.</summary>
internal static class RowHelpers
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    /// <summary>
    /// Runs ours and the baseline alternately, <see cref="SuiteContext.Rounds"/> times each, and pools each
    /// side's results, so a change in machine load during the run affects both sides alike.
    /// </summary>
    public static async Task<(LoopResult Ours, LoopResult Baseline)> AlternateAsync(
        SuiteContext context, Func<int, CancellationToken, ValueTask> ours, Func<int, CancellationToken, ValueTask> baseline,
        int concurrency, TimeSpan total, int minOperationsPerRound, CancellationToken cancellationToken)
    {
        var results = await AlternateAsync(context, [ours, baseline], concurrency, total, minOperationsPerRound, cancellationToken).ConfigureAwait(false);
        return (results[0], results[1]);
    }

    /// <summary>
    /// The same for any number of operations, taken in turn within each round: several variants compared with
    /// one baseline (e.g. three pipeline sequencings vs the model alone) share the baseline's measurement.
    /// </summary>
    public static async Task<LoopResult[]> AlternateAsync(
        SuiteContext context, IReadOnlyList<Func<int, CancellationToken, ValueTask>> operations,
        int concurrency, TimeSpan total, int minOperationsPerRound, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(operations);
        var settings = new LoopSettings(concurrency, context.PerRound(total), context.Warmup, minOperationsPerRound);
        foreach (var operation in operations)
        {
            await ClosedLoopRunner.WarmAsync(operation, concurrency, context.JitWarmup, cancellationToken).ConfigureAwait(false);
        }

        var rounds = operations.Select(_ => new List<LoopResult>()).ToArray();
        for (var round = 0; round < context.Rounds; round++)
        {
            for (var i = 0; i < operations.Count; i++)
            {
                rounds[i].Add(await ClosedLoopRunner.RunAsync(operations[i], settings, cancellationToken).ConfigureAwait(false));
            }
        }

        return rounds.Select(LoopResult.Merge).ToArray();
    }

    /// <summary>Measures two synchronous operations in alternating rounds (<see cref="Harness.Measure"/>) and pools each side's samples.</summary>
    public static (Samples A, Samples B) Alternate(SuiteContext context, Action a, Action b, TimeSpan total, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sa = new Samples();
        var sb = new Samples();
        var perRound = context.PerRound(total);
        for (var round = 0; round < context.Rounds; round++)
        {
            sa.Merge(Harness.Measure(a, context.MicroWarmup, perRound, minSamples: 10, cancellationToken));
            sb.Merge(Harness.Measure(b, context.MicroWarmup, perRound, minSamples: 10, cancellationToken));
        }

        return (sa, sb);
    }

    /// <summary>
    /// POSTs ready bytes and reads the whole response into an array of its Content-Length, the way
    /// <see cref="Client.GraphPipeClient"/> reads responses, so a raw baseline gets the same client code path.
    /// </summary>
    public static async Task<int> PostBytesAsync(HttpClient http, Uri endpoint, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = OctetStream;
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"{endpoint} answered {(int)response.StatusCode}", null, response.StatusCode);
        }

        var length = response.Content.Headers.ContentLength ?? throw new HttpRequestException($"{endpoint} sent no Content-Length");
        var buffer = new byte[length];
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.Length;
    }

    /// <summary>A latency row (median and p90 in ms) from two closed-loop results.</summary>
    public static RowResult Latency(string group, string name, LoopResult ours, LoopResult baseline, RowTarget target, string note)
    {
        const double NsPerMs = 1e6;
        var row = RowResult.Compare(group, name, ours.Latencies.MedianNs / NsPerMs, baseline.Latencies.MedianNs / NsPerMs, "ms", target, RatioOf.OursOverBaseline,
            ours.Latencies.P90Ns / NsPerMs, baseline.Latencies.P90Ns / NsPerMs, Describe(note, ours, baseline));
        return row with { Met = Judge(target, ours, baseline, row.Ours, row.Ratio) };
    }

    /// <summary>A throughput row (operations per second; bigger is better, so the ratio is ours/baseline with an at-least target).</summary>
    public static RowResult Throughput(string group, string name, LoopResult ours, LoopResult baseline, RowTarget target, string note)
    {
        var row = RowResult.Compare(group, name, ours.OperationsPerSecond, baseline.OperationsPerSecond, "req/s", target, RatioOf.OursOverBaseline, note: Describe(note, ours, baseline));
        return row with { Met = Judge(target, ours, baseline, row.Ours, row.Ratio) };
    }

    /// <summary>A side with failed operations cannot pass: its figures describe only the requests that worked.</summary>
    private static bool? Judge(RowTarget target, LoopResult ours, LoopResult baseline, double oursValue, double ratio)
        => ours.ErrorCount > 0 || baseline.ErrorCount > 0 ? (target.Kind == TargetKind.None ? null : false) : target.IsMet(oursValue, ratio);

    private static string Describe(string note, LoopResult ours, LoopResult baseline)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{note}; n={ours.Succeeded}/{baseline.Succeeded}; process alloc/op {ours.Latencies.AllocatedBytesPerOp:N0} B vs {baseline.Latencies.AllocatedBytesPerOp:N0} B");
        if (ours.ErrorCount > 0) text += "; ours failed: " + string.Join(", ", ours.Errors.Select(e => $"{e.Key} x{e.Value}"));
        if (baseline.ErrorCount > 0) text += "; baseline failed: " + string.Join(", ", baseline.Errors.Select(e => $"{e.Key} x{e.Value}"));
        return text;
    }
}
