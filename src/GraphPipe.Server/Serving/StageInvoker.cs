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

    public async ValueTask<StageOutcome> InvokeAsync(ServedStage stage, StageRequest request, HttpContext context)
    {
        var stageTag = new KeyValuePair<string, object?>(ServingMetrics.StageTag, stage.Name);
        if (!TryGetBudget(context, out var budget, out var budgetError))
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

    /// <summary>The request's budget: the host's timeout, or the caller's remaining budget when it is smaller; false for a malformed header.</summary>
    private bool TryGetBudget(HttpContext context, out Budget budget, out StageError? error)
    {
        budget = new Budget(_options.RequestTimeout, FromCaller: false);
        error = null;
        if (!context.Request.Headers.TryGetValue(GraphPipeTimeoutHeader.Name, out var values))
        {
            return true;
        }

        if (values.Count != 1 || !GraphPipeTimeoutHeader.TryParse(values[0], out var caller))
        {
            error = new StageError(StageErrorKind.InvalidInput, $"header {GraphPipeTimeoutHeader.Name}: '{Echo.Name(values.ToString())}' is not a budget (expected one value of 1 to 8 digits, in milliseconds)");
            return false;
        }

        if (budget.Time == Timeout.InfiniteTimeSpan || caller < budget.Time)
        {
            budget = new Budget(caller, FromCaller: true);
        }

        return true;
    }

    private static string Bounded(string message) => message.Length <= 300 ? message : string.Concat(message.AsSpan(0, 300), "...");

    private readonly record struct Budget(TimeSpan Time, bool FromCaller)
    {
        public override string ToString() => FromCaller
            ? $"the caller's budget of {Time.TotalSeconds:0.###} s ({GraphPipeTimeoutHeader.Name})"
            : $"{Time.TotalSeconds:0.###} s (RequestTimeout)";
    }
}
