using System.Diagnostics;
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
internal sealed class StageInvoker(IOptions<GraphPipeServerOptions> options, TimeProvider time, RejectionLog rejections, ILogger<StageInvoker> logger)
{
    private readonly GraphPipeServerOptions _options = options.Value;

    /// <param name="callDeadline">Time left by the caller's own deadline (a gRPC deadline), when it has one; the shorter of it and <see cref="GraphPipeServerOptions.RequestTimeout"/> applies.</param>
    public async ValueTask<StageOutcome> InvokeAsync(ServedStage stage, StageRequest request, HttpContext context, TimeSpan? callDeadline = null)
    {
        var stageTag = new KeyValuePair<string, object?>(ServingMetrics.StageTag, stage.Name);
        var timeout = callDeadline is { } callLeft && (_options.RequestTimeout == Timeout.InfiniteTimeSpan || callLeft < _options.RequestTimeout)
            ? (callLeft > TimeSpan.Zero ? callLeft : TimeSpan.FromTicks(1))
            : _options.RequestTimeout;
        using var deadline = timeout == Timeout.InfiniteTimeSpan
            ? new CancellationTokenSource()
            : new CancellationTokenSource(timeout, time);
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
            return new(null, new StageError(StageErrorKind.Timeout, $"did not start within {timeout.TotalSeconds:0.###} s: {stage.MaxRunning} requests running and the queue full"), time.GetElapsedTime(queueStart), default);
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
                return new(null, new StageError(StageErrorKind.Timeout, $"did not finish within {timeout.TotalSeconds:0.###} s"), queued, time.GetElapsedTime(runStart));
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

    private static string Bounded(string message) => message.Length <= 300 ? message : string.Concat(message.AsSpan(0, 300), "...");
}
