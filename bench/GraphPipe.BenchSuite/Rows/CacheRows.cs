using System.Globalization;
using GraphPipe.Caching;
using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Wire;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// The response cache: the same request served from the cache (a hit, memory level) vs run by the model,
/// both over HTTP on a host like <c>graphpipe serve onnx --cache-size 64MB</c>, in alternating rounds.
/// </summary>
internal sealed class CacheRows : IBenchRow
{
    private const string Group = "cache";

    public string Id => Group;

    public string Title => "cache: a response-cache hit vs the model run on the same request";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        const string Name = "latency c=1: cache hit over HTTP vs model run over HTTP";
        if (context.ModelPath is not { } path || !File.Exists(path))
        {
            return [RowResult.Skip(Group, Name, RowTarget.None, context.ModelPath is null ? context.ModelMissingReason : $"model file '{context.ModelPath}' does not exist")];
        }

        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = context.IntraOpThreads });
        using var store = new HybridResponseCacheStore(new ResponseCacheOptions { SizeBytes = 64L << 20 });
        await using var plain = await SuiteHttp.HostAsync(stage, cancellationToken).ConfigureAwait(false);
        await using var cached = await SuiteHttp.HostAsync(new CachingStage(stage, store), cancellationToken).ConfigureAwait(false);
        using var http = SuiteHttp.CreateClient(1, out _);
        var input = stage.Metadata.Inputs[0];
        var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var values = TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d));
        var request = new InferRequest { InputNames = [input.Name], Inputs = [Tensor.Create<float>(values, shape)], OutputNames = [stage.Metadata.Outputs[0].Name] };
        var options = new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) };
        var hitClient = new GraphPipeClient(http, cached.Address, options);
        var runClient = new GraphPipeClient(http, plain.Address, options);
        context.Progress($"cache: {Path.GetFileName(path)}, concurrency 1");

        async ValueTask Hit(int worker, CancellationToken ct)
        {
            var response = await hitClient.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
        }

        async ValueTask Run(int worker, CancellationToken ct)
        {
            var response = await runClient.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
        }

        var (hit, run) = await RowHelpers.AlternateAsync(context, Hit, Run, 1, context.ModelTime, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
        return
        [
            RowHelpers.Latency(Group, Name, hit, run, RowTarget.None,
                string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}; memory level (HybridCache); ratio = hit/run: what a repeated request costs compared with computing it")),
        ];
    }
}
