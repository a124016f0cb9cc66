using System.Diagnostics;
using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>
/// Runs a stage, then, when a next stage is known, sends its outputs there and answers with the next
/// stage's outputs. The next stage comes from the request's route (hybrid sequencing, through
/// <c>fromConfig</c>, which may refuse it) or is the operator's <c>next</c> (server sequencing). Without
/// either it is the bare stage (client sequencing).
/// </summary>
public sealed class ForwardingStage : IForwardingStage
{
    private readonly IInferenceStage _inner;
    private readonly INextStage? _next;
    private readonly INextStageResolver? _fromConfig;
    private readonly string[] _innerOutputs;

    /// <param name="inner">The stage that computes.</param>
    /// <param name="next">The operator's next stage (server sequencing), or null.</param>
    /// <param name="fromConfig">Resolves next stages named in a request's config (hybrid sequencing); null turns that off.</param>
    public ForwardingStage(IInferenceStage inner, INextStage? next, INextStageResolver? fromConfig)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _next = next;
        _fromConfig = fromConfig;
        _innerOutputs = inner.Metadata.Outputs.Select(o => o.Name).ToArray();
    }

    public StageMetadata Metadata => _inner.Metadata;

    public IInferenceStage Inner => _inner;

    /// <summary>The operator's next stage (server sequencing), or null.</summary>
    public INextStage? Next => _next;

    public bool WillForward(PipelineRoute route)
    {
        ArgumentNullException.ThrowIfNull(route);
        return _next is not null || (_fromConfig is not null && route.Next is not null);
    }

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var route = request.Route;
        INextStage? next = null;
        var passOn = request.Config;
        if (_fromConfig is not null && route.Next is { } hop)
        {
            next = _fromConfig.Resolve(route, out var refusal);
            if (next is null)
            {
                var named = route.IsReplicated ? route.NextHop! : hop.ToString();
                return StageResult.Failure(StageErrorKind.InvalidInput, $"next stage {Echo.Name(named)} (named in the request's config; OIP: graphpipe_next): {refusal}");
            }

            passOn = route.Rest;
        }
        else if (_next is not null)
        {
            next = _next;
        }
        else if (_fromConfig is not null && route.Error is { } error)
        {
            return StageResult.Failure(StageErrorKind.InvalidInput, error);
        }

        if (next is null)
        {
            return await _inner.InferAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var first = await _inner.InferAsync(new StageRequest(request.InputNames, request.Inputs, _innerOutputs, string.Empty) { Deadline = request.Deadline }, cancellationToken).ConfigureAwait(false);
        if (!first.IsSuccess)
        {
            return first;
        }

        StageResult second;
        var target = new KeyValuePair<string, object?>("server.address", next.Target);
        using (var span = ForwardingTelemetry.Source.StartActivity("forward", ActivityKind.Internal))
        {
            span?.SetTag("server.address", next.Target);
            var started = Stopwatch.GetTimestamp();
            try
            {
                second = await next.SendAsync(first.Outputs, request.OutputNames, passOn, request.Deadline, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                first.Dispose();
                throw;
            }
            finally
            {
                var elapsed = Stopwatch.GetElapsedTime(started);
                ForwardingTelemetry.HopDuration.Record(elapsed.TotalSeconds, target);
                request.Timings?.Next = elapsed;
            }

            if (!second.IsSuccess)
            {
                span?.SetStatus(ActivityStatusCode.Error, second.Error!.Kind.ToString());
            }
        }

        if (!second.IsSuccess)
        {
            first.Dispose();
            return second;
        }

        // An in-process next stage's outputs may be views of this stage's outputs: release both together.
        return StageResult.Success(second.Outputs, new BothOwners(second, first));
    }

    private sealed class BothOwners(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose()
        {
            a.Dispose();
            b.Dispose();
        }
    }
}
