using System.Diagnostics;
using GraphPipe.Client;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Serving;

/// <summary>
/// The protocol-neutral middle of every request: admission (bounded queue), the request deadline, the
/// stage run with its span and metrics, and exceptions turned into errors that name the stage. Protocol
/// endpoints decode before it and encode after it.
/// </summary>
/// <remarks>
/// The deadline is the smaller of <see cref="GraphPipeServerOptions.RequestTimeout"/> and the caller's
/// remaining budget in <see cref="GraphPipeTimeoutHeader"/>; it is set on <see cref="StageRequest.Deadline"/>
/// so that forwarding passes what is left on and retries stay within it.
/// </remarks>
internal sealed class StageInvoker(IOptions<GraphPipeServerOptions> options, TimeProvider time, RejectionLog rejections, ILogger<StageInvoker> logger)
{
    private readonly GraphPipeServerOptions _options = options.Value;

    /// <param name="callDeadline">Time left by the caller's own deadline (a gRPC deadline), when it has one; the shorter of it and <see cref="GraphPipeServerOptions.RequestTimeout"/> applies.</param>
    public async ValueTask<StageOutcome> InvokeAsync(ServedStage stage, StageRequest request, HttpContext context, TimeSpan? callDeadline = null)
    {
        var stageTag = new KeyValuePair<string, object?>(ServingMetrics.StageTag, stage.Name);
        if (!TryGetBudget(context, callDeadline, out var budget, out var budgetError))
        {
            return new(null, budgetError, default, default);
        }

        if (budget.Time == TimeSpan.Zero)
        {
            return new(null, new StageError(StageErrorKind.Timeout, $"did not start within {budget}: no time left"), default, default);
        }

        request.Deadline = StageDeadline.After(budget.Time, time);
        using var deadline = budget.Time == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(budget.Time, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, context.RequestAborted);
        var token = linked.Token;

        var queueStart = time.GetTimestamp();
        System.Threading.RateLimiting.RateLimitLease lease;
        ServingMetrics.Queued.Add(1, stageTag);
        try
        {
            lease = await stage.AdmitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            return new(null, new StageError(StageErrorKind.Timeout, $"did not start within {budget}: {stage.MaxRunning} requests running and the queue full"), time.GetElapsedTime(queueStart), default);
        }
        catch (OperationCanceledException)
        {
            Log.ClientGone(logger);
            return default;
        }
        finally
        {
            ServingMetrics.Queued.Add(-1, stageTag);
        }

        var queued = time.GetElapsedTime(queueStart);
        using (lease)
        {
            if (!lease.IsAcquired)
            {
                ServingMetrics.Rejected.Add(1, stageTag, new KeyValuePair<string, object?>("reason", "queue_full"));
                rejections.Rejected(stage);
                context.Response.Headers.RetryAfter = "1";
                return new(null, new StageError(StageErrorKind.Unavailable, $"server busy: {stage.MaxRunning} requests running and {stage.QueueLimit} queued; retry later"), queued, default);
            }

            ServingMetrics.QueueDuration.Record(queued.TotalSeconds, stageTag);
            using var span = ServingTelemetry.Source.StartActivity("run");
            span?.SetTag(ServingMetrics.StageTag, stage.Name);
            stage.EnterRun();
            ServingMetrics.Active.Add(1, stageTag);
            var runStart = time.GetTimestamp();
            try
            {
                var result = await stage.Stage.InferAsync(request, token).ConfigureAwait(false);
                var run = time.GetElapsedTime(runStart);
                ServingMetrics.RunDuration.Record(run.TotalSeconds, stageTag);
                if (!result.IsSuccess)
                {
                    span?.SetStatus(ActivityStatusCode.Error, result.Error!.Kind.ToString());
                }

                return new(result, null, queued, run);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                span?.SetStatus(ActivityStatusCode.Error, "timeout");
                return new(null, new StageError(StageErrorKind.Timeout, $"did not finish within {budget}"), queued, time.GetElapsedTime(runStart));
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                Log.ClientGone(logger);
                return default;
            }
            catch (Exception ex)
            {
                // Never an empty 500: the stage is named and the message is bounded.
                Log.StageFailed(logger, stage.Name, ex);
                span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                return new(null, new StageError(StageErrorKind.Internal, $"internal error: {Bounded(ex.Message)}"), queued, time.GetElapsedTime(runStart));
            }
            finally
            {
                ServingMetrics.Active.Add(-1, stageTag);
                stage.ExitRun();
            }
        }
    }

    /// <summary>
    /// The request's budget: the smallest of the host's timeout, the caller's remaining budget in
    /// <see cref="GraphPipeTimeoutHeader"/> and the call's own deadline (gRPC); false for a malformed header.
    /// </summary>
    private bool TryGetBudget(HttpContext context, TimeSpan? callDeadline, out Budget budget, out StageError? error)
    {
        budget = new Budget(_options.RequestTimeout, null);
        error = null;
        if (context.Request.Headers.TryGetValue(GraphPipeTimeoutHeader.Name, out var values))
        {
            if (values.Count != 1 || !GraphPipeTimeoutHeader.TryParse(values[0], out var caller))
            {
                error = new StageError(StageErrorKind.InvalidInput, $"header {GraphPipeTimeoutHeader.Name}: '{Echo.Name(values.ToString())}' is not a budget (expected one value of 1 to 8 digits, in milliseconds)");
                return false;
            }

            budget = budget.Min(caller, GraphPipeTimeoutHeader.Name);
        }

        if (callDeadline is { } callLeft)
        {
            budget = budget.Min(callLeft > TimeSpan.Zero ? callLeft : TimeSpan.Zero, "the call's deadline");
        }

        return true;
    }

    private static string Bounded(string message) => message.Length <= 300 ? message : string.Concat(message.AsSpan(0, 300), "...");

    /// <summary>A request's time and where it comes from (null: the host's RequestTimeout).</summary>
    private readonly record struct Budget(TimeSpan Time, string? Source)
    {
        public Budget Min(TimeSpan time, string source)
            => Time == Timeout.InfiniteTimeSpan || time < Time ? new Budget(time, source) : this;

        public override string ToString() => Source is null
            ? $"{Time.TotalSeconds:0.###} s (RequestTimeout)"
            : $"the caller's budget of {Time.TotalSeconds:0.###} s ({Source})";
    }
}
