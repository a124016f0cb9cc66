using System.Diagnostics;
using GraphPipe.Client;
using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

public sealed class ForwardingOptions
{
    /// <summary>The next stage configured by the operator (server sequencing); null for none.</summary>
    public Uri? Next { get; init; }

    /// <summary>Follow a next-stage URL given in the request's <c>config</c> (hybrid sequencing). Default true.</summary>
    public bool AllowNextFromConfig { get; init; } = true;

    /// <summary>Which next-stage URLs a client may name in <c>config</c>. Default: public addresses only.</summary>
    public NetworkPolicy ConfigPolicy { get; init; } = new();

    /// <summary>
    /// A next stage in the same process (two stages of one host that are chained): called directly, with
    /// no HTTP hop and no copy of the tensors. Takes the place of <see cref="Next"/>.
    /// </summary>
    public IInferenceStage? LocalNext { get; init; }
}

/// <summary>
/// Runs a stage, then, when a next stage is known, sends its outputs there and answers with the next
/// stage's outputs. The next stage comes from the request's config (hybrid sequencing, checked against
/// <see cref="ForwardingOptions.ConfigPolicy"/>) or from the operator's <see cref="ForwardingOptions.Next"/>
/// (server sequencing). Without either it is the bare stage (client sequencing).
/// </summary>
public sealed class ForwardingStage : IForwardingStage
{
    private readonly IInferenceStage _inner;
    private readonly GraphPipeClient _trusted;
    private readonly GraphPipeClient _untrusted;
    private readonly ForwardingOptions _options;
    private readonly string[] _innerOutputs;

    /// <param name="inner">The stage that computes.</param>
    /// <param name="trustedClient">Transport for the operator's <see cref="ForwardingOptions.Next"/>.</param>
    /// <param name="configClient">Transport for client-named next stages; its handler should enforce <see cref="ForwardingOptions.ConfigPolicy"/> at connect time (<see cref="NetworkPolicy.CreateHandler"/>).</param>
    public ForwardingStage(IInferenceStage inner, GraphPipeClient trustedClient, GraphPipeClient configClient, ForwardingOptions options)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _trusted = trustedClient ?? throw new ArgumentNullException(nameof(trustedClient));
        _untrusted = configClient ?? throw new ArgumentNullException(nameof(configClient));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _innerOutputs = inner.Metadata.Outputs.Select(o => o.Name).ToArray();
    }

    public MetadataResponse Metadata => _inner.Metadata;

    public IInferenceStage Inner => _inner;

    /// <summary>The operator's next stage (server sequencing), or null.</summary>
    public Uri? Next => _options.Next;

    public bool WillForward(string config)
        => _options.Next is not null || _options.LocalNext is not null || (_options.AllowNextFromConfig && PipelineConfig.TryGetNextHop(config, out _, out _, out _));

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Uri? next = null;
        var passOn = request.Config;
        var client = _trusted;
        string? configError = null;
        if (_options.AllowNextFromConfig && PipelineConfig.TryGetNextHop(request.Config, out var hop, out var rest, out configError))
        {
            var refusal = _options.ConfigPolicy.CheckUri(hop!);
            if (refusal is not null)
            {
                return StageResult.Failure(StageErrorKind.InvalidInput, $"next stage {Echo.Name(hop!.ToString())}: {refusal}");
            }

            (next, passOn, client) = (hop, rest, _untrusted);
        }
        else if (_options.Next is not null)
        {
            next = _options.Next;
        }
        else if (configError is not null)
        {
            return StageResult.Failure(StageErrorKind.InvalidInput, configError);
        }
        else if (_options.LocalNext is { } local)
        {
            return await InferThenLocalAsync(local, request, cancellationToken).ConfigureAwait(false);
        }

        if (next is null)
        {
            return await _inner.InferAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var innerRequest = new StageRequest(request.InputNames, request.Inputs, _innerOutputs, string.Empty);
        using var result = await _inner.InferAsync(innerRequest, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return StageResult.Failure(result.Error!);
        }

        var target = new KeyValuePair<string, object?>("server.address", next.Authority);
        using var span = ForwardingTelemetry.Source.StartActivity("forward", ActivityKind.Internal);
        span?.SetTag("server.address", next.Authority);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await client.WithEndpoint(next).InferAsync(new InferRequest
            {
                Config = passOn,
                Inputs = result.Outputs,
                OutputNames = request.OutputNames,
            }, cancellationToken).ConfigureAwait(false);
            return StageResult.Success(response.Outputs);
        }
        catch (GraphPipeException ex)
        {
            var kind = ex.IsTimeout ? StageErrorKind.Timeout : StageErrorKind.Upstream;
            var status = ex.StatusCode is { } code ? $"{(int)code}" : "no response";
            span?.SetStatus(ActivityStatusCode.Error, status);
            // A client-named next stage could answer anything: what it says is passed on bounded.
            var remote = ex.RemoteMessage is { Length: > 1000 } text ? string.Concat(text.AsSpan(0, 1000), $"... ({text.Length} chars)") : ex.RemoteMessage;
            return StageResult.Failure(kind, $"next stage {Echo.Name(next.ToString())} failed ({status}): {remote}");
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            ForwardingTelemetry.HopDuration.Record(elapsed.TotalSeconds, target);
            if (request.Timings is { } timings)
            {
                timings.Next = elapsed;
            }
        }
    }

    private async ValueTask<StageResult> InferThenLocalAsync(IInferenceStage local, StageRequest request, CancellationToken cancellationToken)
    {
        var innerRequest = new StageRequest(request.InputNames, request.Inputs, _innerOutputs, string.Empty);
        var first = await _inner.InferAsync(innerRequest, cancellationToken).ConfigureAwait(false);
        if (!first.IsSuccess)
        {
            first.Dispose();
            return first;
        }

        // The same binding rules as the next stage's front door would apply to these outputs.
        var bound = RequestBinder.Bind(new InferRequest { Inputs = first.Outputs, OutputNames = request.OutputNames }, local.Metadata, [], [], out var bindError);
        if (bound is null)
        {
            first.Dispose();
            return StageResult.Failure(bindError!.Kind, $"next stage {local.Metadata.Name}: {bindError.Message}");
        }

        var started = Stopwatch.GetTimestamp();
        using var span = ForwardingTelemetry.Source.StartActivity("forward", ActivityKind.Internal);
        span?.SetTag("server.address", "in-process");
        StageResult second;
        try
        {
            second = await local.InferAsync(bound, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            first.Dispose();
            throw;
        }
        finally
        {
            if (request.Timings is { } timings)
            {
                timings.Next = Stopwatch.GetElapsedTime(started);
            }
        }

        if (!second.IsSuccess)
        {
            first.Dispose();
            return second;
        }

        // The next stage's outputs may be views of this stage's outputs: release both together.
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
