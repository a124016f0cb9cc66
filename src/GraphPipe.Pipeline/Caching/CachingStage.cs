using System.Diagnostics;
using GraphPipe.Stages;

namespace GraphPipe.Caching;

/// <summary>
/// A response cache in front of a stage: a request whose key (<see cref="ResponseCacheKey"/>: scope, inputs
/// byte for byte, requested outputs, config) was answered before gets those outputs back without running
/// the stage. Only successful results are stored; the stored bytes are a copy, so the stage's result keeps
/// sole ownership of its pooled or native buffers, and each hit gets its own array.
/// </summary>
public sealed class CachingStage : IInferenceStage
{
    private readonly IResponseCacheStore _store;
    private readonly string? _scope;
    private readonly KeyValuePair<string, object?> _stageTag;

    /// <param name="inner">The stage whose answers are cached; its answers must depend only on the request.</param>
    /// <param name="store">Where entries live (shared by the stages of a host).</param>
    /// <param name="scope">
    /// What else the answers depend on, e.g. the model file's fingerprint; default: the stage's name and
    /// version. Different scopes never share entries.
    /// </param>
    public CachingStage(IInferenceStage inner, IResponseCacheStore store, string? scope = null)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _scope = scope;
        _stageTag = new(CacheTelemetry.StageTag, inner.Metadata.Name);
    }

    public IInferenceStage Inner { get; }

    public StageMetadata Metadata => Inner.Metadata;

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = ResponseCacheKey.Compute(_scope ?? string.Concat(Metadata.Name, "@", Metadata.Version), request);
        var started = Stopwatch.GetTimestamp();
        var cached = await _store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (cached is not null && CachedOutputs.TryRead(cached, out var outputs))
        {
            CacheTelemetry.Hits.Add(1, _stageTag);
            if (request.Timings is { } hitTimings)
            {
                hitTimings.Cache = Stopwatch.GetElapsedTime(started);
            }

            return StageResult.Success(outputs);
        }

        CacheTelemetry.Misses.Add(1, _stageTag);
        var result = await Inner.InferAsync(request, cancellationToken).ConfigureAwait(false);
        if (result.IsSuccess)
        {
            // A copy: the result still owns (and will release) the buffers its outputs point into.
            var entry = CachedOutputs.Write(result.Outputs);
            CacheTelemetry.Stored.Add(entry.Length, _stageTag);
            await _store.SetAsync(key, entry, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }
}
