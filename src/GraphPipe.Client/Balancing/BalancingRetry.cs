using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace GraphPipe.Client.Balancing;

/// <summary>
/// The retry of a balanced request (Microsoft.Extensions.Http.Resilience over Polly v8): a request that got
/// no response (connection refused or reset) or a 503 is sent again, to another replica (the
/// <see cref="BalancingHandler"/> inside picks per attempt), while the caller's deadline lasts. Inference is
/// idempotent, so sending it twice is safe; turn <see cref="BalancingOptions.Retry"/> off for stages that are not.
/// </summary>
public static class BalancingRetry
{
    /// <summary>The retry strategy's options for <paramref name="options"/> (for <c>AddResilienceHandler</c>).</summary>
    public static HttpRetryStrategyOptions StrategyOptions(BalancingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var backoff = options.RetryBackoff;
        return new HttpRetryStrategyOptions
        {
            Name = "graphpipe-retry",
            MaxRetryAttempts = Math.Max(1, options.MaxRetries),
            ShouldRetryAfterHeader = false,
            ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.GetRequestMessage(), args.Context.CancellationToken)),
            // The first retry goes to another replica at once; later ones back off (doubling, with jitter).
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.AttemptNumber == 0
                ? TimeSpan.Zero
                : backoff * Math.Pow(2, args.AttemptNumber - 1) * (0.5 + Random.Shared.NextDouble())),
        };
    }

    /// <summary>A handler that retries per <paramref name="options"/>, or null when retries are off.</summary>
    public static DelegatingHandler? CreateHandler(BalancingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Retry || options.MaxRetries == 0)
        {
            return null;
        }

        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider }
            .AddRetry(StrategyOptions(options))
            .Build();
        return new ResilienceHandler(pipeline);
    }

    /// <summary>Whether an attempt's outcome is worth another attempt: no response at all, or 503 (a replica full or shutting down).</summary>
    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
        => ShouldRetry(outcome, null, cancellationToken);

    /// <summary>
    /// Like <see cref="ShouldRetry(Outcome{HttpResponseMessage}, CancellationToken)"/>, and never once the
    /// budget <paramref name="request"/> was sent with (<see cref="RequestBudget"/>) has run out.
    /// </summary>
    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, HttpRequestMessage? request, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || RequestBudget.Remaining(request) <= TimeSpan.Zero)
        {
            return false;
        }

        // A target refused by a network policy (403 without a response) stays refused: not retried.
        return outcome.Exception is HttpRequestException { StatusCode: not HttpStatusCode.Forbidden }
            || outcome.Result?.StatusCode == HttpStatusCode.ServiceUnavailable;
    }
}
