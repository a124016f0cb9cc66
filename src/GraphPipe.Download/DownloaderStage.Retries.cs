using GraphPipe.Stages;
using Polly;
using Polly.Retry;

namespace GraphPipe.Download;

/// <summary>
/// Retries of transient fetch failures (connection refused or reset, a premature close, 502/503/504 from
/// the origin) with exponential backoff and jitter, all within the URL's one timeout. Polly v8's retry
/// strategy (Polly.Core, the version Microsoft.Extensions.Http.Resilience brings) rather than that
/// package's HttpClient handler: an attempt here covers the body as well as the headers, and the
/// downloader stays free of its dependency tree (and of its newer Microsoft.Extensions.* floor).
/// </summary>
public sealed partial class DownloaderStage
{
    private static ResiliencePipeline<Outcome> CreateRetry(DownloaderOptions options, TimeProvider time)
    {
        if (options.MaxRetries == 0)
        {
            return ResiliencePipeline<Outcome>.Empty;
        }

        return new ResiliencePipelineBuilder<Outcome> { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<Outcome>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result is { Transient: true }),
            })
            .Build();
    }

    /// <summary>Fetches one URL, retrying transient failures; the caller's token carries the URL's timeout.</summary>
    private async Task<Outcome> FetchWithRetriesAsync(Attempts attempts, CancellationToken cancellationToken)
    {
        var outcome = await _retry.ExecuteAsync(static (state, ct) => state.Stage.AttemptAsync(state, ct), attempts, cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error && attempts.Count > 1
            ? outcome with { Error = error with { Message = $"{error.Message} ({attempts.Count} attempts)" } }
            : outcome;
    }

    private async ValueTask<Outcome> AttemptAsync(Attempts attempts, CancellationToken cancellationToken)
    {
        attempts.Count++;
        Outcome outcome;
        try
        {
            outcome = await FetchCoreAsync(attempts.Job, attempts.Index, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or IOException)
        {
            // The connection broke while the body was on its way.
            outcome = Failure(attempts.Job, attempts.Index, StageErrorKind.Upstream, $"download failed: {FailureCause.Describe(ex)}") with { Transient = FailureCause.IsTransient(ex) };
        }

        if (outcome.Error is { } error)
        {
            attempts.LastFailure = error.Message;
        }

        return outcome;
    }

    /// <summary>One URL's attempts so far (state for the static retry callback; one per fetched URL).</summary>
    private sealed class Attempts(DownloaderStage stage, Job job, int index)
    {
        public DownloaderStage Stage { get; } = stage;

        public Job Job { get; } = job;

        public int Index { get; } = index;

        public int Count { get; set; }

        /// <summary>Why the last attempt failed, for a timeout's message.</summary>
        public string? LastFailure { get; set; }
    }
}
