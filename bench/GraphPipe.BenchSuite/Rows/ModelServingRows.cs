using System.Globalization;
using System.Threading.Channels;
using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Stages;
using GraphPipe.Wire;
using Microsoft.ML.OnnxRuntime;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 3: what serving a model over GraphPipe costs compared with calling ONNX Runtime in-process.
/// Ours: <see cref="OnnxModelStage"/> behind <see cref="Server.GraphPipeStageHost"/> (what
/// <c>graphpipe serve onnx</c> runs), called with <see cref="GraphPipeClient"/> over loopback. Baseline:
/// the same model in plain <see cref="InferenceSession"/>s with the same session options and count,
/// called directly with a pre-built input. Same inputs, same threads, same number of sessions.
/// </summary>
internal sealed class ModelServingRows : IBenchRow
{
    private const string Group = "model";
    private const int Concurrency = 4;

    public string Id => Group;

    public string Title => "model: ONNX model served over GraphPipe vs in-process ONNX Runtime";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var c1Name = "latency c=1: served over HTTP vs in-process ORT";
        var c4Name = $"throughput c={Concurrency}: served over HTTP vs in-process ORT";
        const string StageName = "latency c=1: OnnxModelStage called in-process vs in-process ORT";
        const string BeyondName = "latency c=1: served over HTTP vs the HTTP floor then the stage in-process";
        const string SpinName = "latency c=1: served over HTTP, ONNX Runtime intra-op spinning off vs on";
        const string FloorName = "latency c=1: HTTP floor (the request to a bare Kestrel sink) vs in-process ORT";
        if (context.ModelPath is not { } path || !File.Exists(path))
        {
            var reason = context.ModelPath is null ? context.ModelMissingReason : $"model file '{context.ModelPath}' does not exist";
            return [RowResult.Skip(Group, c1Name, RowTarget.RatioAtMost(1.03), reason), RowResult.Skip(Group, StageName, RowTarget.None, reason), RowResult.Skip(Group, FloorName, RowTarget.None, reason), RowResult.Skip(Group, SpinName, RowTarget.None, reason), RowResult.Skip(Group, BeyondName, RowTarget.RatioAtMost(1.015), reason), RowResult.Skip(Group, c4Name, RowTarget.RatioAtLeast(0.97), reason)];
        }

        var model = Path.GetFileName(path);
        if (Unsuitable(path) is { } why)
        {
            return [RowResult.Skip(Group, c1Name, RowTarget.RatioAtMost(1.03), why), RowResult.Skip(Group, StageName, RowTarget.None, why), RowResult.Skip(Group, FloorName, RowTarget.None, why), RowResult.Skip(Group, SpinName, RowTarget.None, why), RowResult.Skip(Group, BeyondName, RowTarget.RatioAtMost(1.015), why), RowResult.Skip(Group, c4Name, RowTarget.RatioAtLeast(0.97), why)];
        }

        context.Progress($"model: {model}, concurrency 1, 1 session x {context.IntraOpThreads} intra-op thread(s)");
        var c1 = await CompareAsync(context, path, 1, 1, context.IntraOpThreads, context.ModelTime, cancellationToken, withBreakdown: true).ConfigureAwait(false);
        var threads4 = Math.Max(1, Environment.ProcessorCount / context.EngineCount);
        context.Progress($"model: {model}, concurrency {Concurrency}, {context.EngineCount} sessions x {threads4} intra-op thread(s)");
        var c4 = await CompareAsync(context, path, Concurrency, context.EngineCount, threads4, context.ModelTime, cancellationToken).ConfigureAwait(false);
        return
        [
            RowHelpers.Latency(Group, c1Name, c1.Ours, c1.Baseline, RowTarget.RatioAtMost(1.03),
                string.Create(CultureInfo.InvariantCulture, $"{model}; 1 session, intra-op {context.IntraOpThreads} on both sides; ours includes HTTP + encode/decode")),
            // Where the c=1 overhead goes: the stage itself (binding checks, pinning, output views) without HTTP.
            RowHelpers.Latency(Group, StageName, c1.StageDirect!, c1.Baseline, RowTarget.None,
                string.Create(CultureInfo.InvariantCulture, $"{model}; the stage's own cost: no HTTP, no encode/decode; measured in the same rounds as the row above")),
            // What no HTTP server can avoid: carrying the request's bytes to it (sent raw, empty answer).
            RowHelpers.Latency(Group, FloorName, c1.HttpFloor!, c1.Baseline, RowTarget.None,
                string.Create(CultureInfo.InvariantCulture, $"{model}; the same request bytes POSTed to a bare Kestrel endpoint that reads them and answers empty: ratio = the floor's share of the model time; measured in the same rounds")),
            // What the server adds beyond carrying the bytes and running the model, with both on the same cores in turn.
            RowHelpers.Latency(Group, BeyondName, c1.Ours, c1.FloorThenStage!, RowTarget.RatioAtMost(1.015),
                string.Create(CultureInfo.InvariantCulture, $"{model}; baseline: one operation that POSTs the same request bytes to the bare Kestrel sink, then calls the stage in-process (the floor row, then the stage row, back to back); measured in the same rounds")),
            // Where the rest goes: ONNX Runtime's intra-op threads spinning after a run, on the cores the HTTP transfer needs.
            context.ServedSpinning
                ? RowHelpers.Latency(Group, SpinName, c1.Flipped!, c1.Ours, RowTarget.None, string.Create(CultureInfo.InvariantCulture, $"{model}; served as the first row, ONNX Runtime's session.intra_op.allow_spinning 0 vs 1; measured in the same rounds"))
                : RowHelpers.Latency(Group, SpinName, c1.Ours, c1.Flipped!, RowTarget.None, string.Create(CultureInfo.InvariantCulture, $"{model}; served as the first row, ONNX Runtime's session.intra_op.allow_spinning 0 vs 1; measured in the same rounds")),
            RowHelpers.Throughput(Group, c4Name, c4.Ours, c4.Baseline, RowTarget.RatioAtLeast(0.97),
                string.Create(CultureInfo.InvariantCulture, $"{model}; {context.EngineCount} sessions x intra-op {threads4} on both sides; ratio = ours/baseline req/s")),
        ];
    }

    /// <summary>Null when the rows can feed the model (one float32 input); otherwise why not.</summary>
    private static string? Unsuitable(string path)
    {
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1 });
        var inputs = stage.Metadata.Inputs;
        return inputs.Count == 1 && inputs[0].Type == TensorType.Float32 && !inputs[0].Shape.IsDefaultOrEmpty
            ? null
            : $"{Path.GetFileName(path)} has inputs {string.Join(", ", inputs)}; the model rows need exactly one float32 tensor input";
    }

    private static async Task<(LoopResult Ours, LoopResult Baseline, LoopResult? StageDirect, LoopResult? HttpFloor, LoopResult? Flipped, LoopResult? FloorThenStage)> CompareAsync(
        SuiteContext context, string path, int concurrency, int sessions, int intraOpThreads, TimeSpan time, CancellationToken cancellationToken, bool withBreakdown = false)
    {
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, EngineCount = sessions, IntraOpThreads = intraOpThreads, IntraOpSpinning = context.ServedSpinning });
        await using var host = await SuiteHttp.HostAsync(stage, cancellationToken).ConfigureAwait(false);
        using var http = SuiteHttp.CreateClient(concurrency, out _);
        var client = new GraphPipeClient(http, host.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) });
        var input = stage.Metadata.Inputs[0];
        // A free batch dimension (the demo model's N) becomes 1: one image per request on both sides.
        var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var values = TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d));
        // Both sides ask for the same one output (the first): serving all outputs (the demo model also has its
        // 512 features) would be more work than the baseline does.
        var outputName = stage.Metadata.Outputs[0].Name;
        var request = new InferRequest { InputNames = [input.Name], Inputs = [Tensor.Create<float>(values, shape)], OutputNames = [outputName] };
        using var bare = new BareOrt(path, sessions, intraOpThreads, concurrency, input.Name, outputName, values, shape);

        async ValueTask Ours(int worker, CancellationToken ct)
        {
            var response = await client.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
        }

        if (!withBreakdown)
        {
            var (ours, baseline) = await RowHelpers.AlternateAsync(context, Ours, bare.RunAsync, concurrency, time, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
            return (ours, baseline, null, null, null, null);
        }

        var stageRequest = new StageRequest([input.Name], request.Inputs, [outputName], string.Empty);

        async ValueTask StageDirect(int worker, CancellationToken ct)
        {
            using var result = await stage.InferAsync(stageRequest, ct).ConfigureAwait(false);
            if (!result.IsSuccess) throw new InvalidDataException(result.Error!.Message);
        }

        await using var sink = await SuiteHttp.StartEchoAsync(new Server.GraphPipeServerOptions().MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        var sinkUri = new Uri(sink.Address, "sink");
        var requestBytes = new GraphPipeWriter().WriteInferRequest(request).ToArray();
        ValueTask HttpFloor(int worker, CancellationToken ct) => new(RowHelpers.PostBytesAsync(http, sinkUri, requestBytes, ct));

        // The same served model with ONNX Runtime's intra-op spinning the other way, alternated in the same rounds.
        using var flippedStage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, EngineCount = sessions, IntraOpThreads = intraOpThreads, IntraOpSpinning = !context.ServedSpinning });
        await using var flippedHost = await SuiteHttp.HostAsync(flippedStage, cancellationToken).ConfigureAwait(false);
        var flippedClient = new GraphPipeClient(http, flippedHost.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) });
        async ValueTask Flipped(int worker, CancellationToken ct)
        {
            var response = await flippedClient.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
        }

        // The floor and the model run one after the other in one operation: carrying the bytes, then the stage in-process.
        async ValueTask FloorThenStage(int worker, CancellationToken ct)
        {
            await RowHelpers.PostBytesAsync(http, sinkUri, requestBytes, ct).ConfigureAwait(false);
            await StageDirect(worker, ct).ConfigureAwait(false);
        }

        var results = await RowHelpers.AlternateAsync(context, [Ours, bare.RunAsync, StageDirect, HttpFloor, Flipped, FloorThenStage], concurrency, time, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
        return (results[0], results[1], results[2], results[3], results[4], results[5]);
    }

    /// <summary>The baseline: plain ONNX Runtime sessions shared by workers through a free list, inputs built once per worker.</summary>
    private sealed class BareOrt : IDisposable
    {
        private readonly InferenceSession[] _sessions;
        private readonly Channel<InferenceSession> _free;
        private readonly OrtValue[] _inputs;
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;

        public BareOrt(string path, int sessions, int intraOpThreads, int workers, string inputName, string outputName, float[] values, long[] shape)
        {
            _sessions = new InferenceSession[sessions];
            _inputs = new OrtValue[workers];
            _free = Channel.CreateBounded<InferenceSession>(sessions);
            try
            {
                for (var i = 0; i < sessions; i++)
                {
                    // The same options OnnxModelStage sets (keep the two in step): intra-op as given, one inter-op
                    // thread, sequential execution, all graph optimizations.
                    using var options = new SessionOptions
                    {
                        IntraOpNumThreads = intraOpThreads,
                        InterOpNumThreads = 1,
                        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                    };
                    _sessions[i] = new InferenceSession(path, options);
                    _free.Writer.TryWrite(_sessions[i]);
                }

                for (var w = 0; w < workers; w++)
                {
                    _inputs[w] = OrtValue.CreateTensorValueFromMemory((float[])values.Clone(), shape);
                }
            }
            catch
            {
                Dispose();
                throw;
            }

            _inputNames = [inputName];
            _outputNames = [outputName];
        }

        public async ValueTask RunAsync(int worker, CancellationToken cancellationToken)
        {
            var session = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                Run(session, _inputs[worker]);
            }
            finally
            {
                _free.Writer.TryWrite(session);
            }
        }

        private void Run(InferenceSession session, OrtValue input)
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, _inputNames, [input], _outputNames);
            if (outputs.Count == 0) throw new InvalidDataException("no output");
        }

        public void Dispose()
        {
            foreach (var v in _inputs) v?.Dispose();
            foreach (var s in _sessions) s?.Dispose();
        }
    }
}
