using System.Diagnostics;
using System.Net;
using GraphPipe.Wire;

namespace GraphPipe.Cli;

/// <summary>Settings of one load run against a GraphPipe endpoint.</summary>
internal sealed record LoadSettings(Uri Endpoint, byte[] Body, int Concurrency, TimeSpan? Duration, int? Requests, TimeSpan Warmup, TimeSpan RequestTimeout, int RowsPerRequest);

/// <summary>What one concurrency level measured.</summary>
internal sealed record LoadResult(
    int Concurrency,
    int Requests,
    int Succeeded,
    double Seconds,
    double RequestsPerSecond,
    double RowsPerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    double MeanMs,
    long BytesSentPerRequest,
    double BytesReceivedPerRequest,
    IReadOnlyDictionary<string, int> Errors);

/// <summary>
/// A closed-loop load generator (like Triton's perf_analyzer): N workers each send the same
/// pre-encoded request back to back, so the client spends no time encoding; latency is measured
/// per request from send to last response byte.
/// </summary>
internal sealed class LoadGenerator(HttpClient http, TimeProvider time)
{
    public async Task<LoadResult> RunAsync(LoadSettings settings, Action<int>? onProgress, CancellationToken cancellationToken)
    {
        if (settings.Warmup > TimeSpan.Zero)
        {
            await RunWorkersAsync(settings with { Duration = settings.Warmup, Requests = null }, null, null, cancellationToken).ConfigureAwait(false);
        }

        var samples = new List<double>[settings.Concurrency];
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        long received = 0;
        var started = time.GetTimestamp();
        var outcome = await RunWorkersAsync(settings, samples, onProgress, cancellationToken).ConfigureAwait(false);
        var seconds = time.GetElapsedTime(started).TotalSeconds;
        foreach (var (kind, count) in outcome.Errors)
        {
            errors[kind] = count;
        }

        received = outcome.BytesReceived;
        var latencies = samples.SelectMany(s => s).ToArray();
        Array.Sort(latencies);
        var total = outcome.Requests;
        var ok = latencies.Length;
        return new LoadResult(
            settings.Concurrency,
            total,
            ok,
            seconds,
            total / seconds,
            ok * settings.RowsPerRequest / seconds,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.90),
            Percentile(latencies, 0.99),
            latencies.Length == 0 ? 0 : latencies[^1],
            latencies.Length == 0 ? 0 : latencies.Average(),
            settings.Body.Length,
            total == 0 ? 0 : (double)received / total,
            errors);
    }

    private async Task<(int Requests, long BytesReceived, Dictionary<string, int> Errors)> RunWorkersAsync(LoadSettings settings, List<double>[]? samples, Action<int>? onProgress, CancellationToken cancellationToken)
    {
        var deadline = settings.Duration is { } d ? time.GetTimestamp() + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        var remaining = settings.Requests ?? int.MaxValue;
        var issued = 0;
        long received = 0;
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        var workers = new Task[settings.Concurrency];
        for (var w = 0; w < workers.Length; w++)
        {
            var mine = samples is null ? null : samples[w] = [];
            workers[w] = Task.Run(async () =>
            {
                while (!cancellationToken.IsCancellationRequested && time.GetTimestamp() < deadline)
                {
                    if (Interlocked.Decrement(ref remaining) < 0)
                    {
                        return;
                    }

                    var n = Interlocked.Increment(ref issued);
                    var (ms, bytes, error) = await SendOneAsync(settings, cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref received, bytes);
                    if (error is null)
                    {
                        mine?.Add(ms);
                    }
                    else
                    {
                        lock (errors)
                        {
                            errors[error] = errors.GetValueOrDefault(error) + 1;
                        }
                    }

                    onProgress?.Invoke(n);
                }
            }, CancellationToken.None);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return (issued, received, errors);
    }

    private async Task<(double Ms, long Bytes, string? Error)> SendOneAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.RequestTimeout);
        var start = time.GetTimestamp();
        try
        {
            using var content = new ByteArrayContent(settings.Body);
            using var response = await http.PostAsync(settings.Endpoint, content, timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            var ms = time.GetElapsedTime(start).TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (ms, body.Length, $"http {(int)response.StatusCode}");
            }

            if (!TryReadResponse(body, out var reported))
            {
                return (ms, body.Length, reported);
            }

            return (ms, body.Length, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (time.GetElapsedTime(start).TotalMilliseconds, 0, "timeout");
        }
        catch (HttpRequestException ex)
        {
            return (time.GetElapsedTime(start).TotalMilliseconds, 0, ex.HttpRequestError == HttpRequestError.ConnectionError ? "connection refused" : "transport");
        }
    }

    private static bool TryReadResponse(byte[] body, out string? error)
    {
        try
        {
            var response = GraphPipeReader.ReadInferResponse(body);
            error = response.Errors.Count > 0 ? "errors in response" : null;
            return error is null;
        }
        catch (GraphPipeFormatException)
        {
            error = "invalid response";
            return false;
        }
    }

    internal static double Percentile(double[] sorted, double p) => Shared.Percentiles.Interpolated(sorted, p);

    /// <summary>Parses <c>1,2,4,8</c> or a doubling range <c>1-8</c> (1,2,4,8).</summary>
    internal static int[] ParseConcurrency(string text)
    {
        var levels = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(part[..dash], out var from) && int.TryParse(part[(dash + 1)..], out var to) && from >= 1 && to >= from)
            {
                for (var c = from; c <= to; c *= 2) levels.Add(c);
                if (levels[^1] != to) levels.Add(to);
            }
            else if (int.TryParse(part, out var single) && single >= 1)
            {
                levels.Add(single);
            }
            else
            {
                throw CliException.Usage($"--concurrency: '{part}' is not a level (e.g. 1,2,4,8 or 1-8)");
            }
        }

        if (levels.Count == 0 || levels.Max() > 1024)
        {
            throw CliException.Usage("--concurrency: give levels between 1 and 1024");
        }

        return [.. levels.Distinct()];
    }
}
