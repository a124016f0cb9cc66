using System.Globalization;
using GraphPipe.Client;
using GraphPipe.Imaging;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;
using GraphPipe.Wire;
using Microsoft.ML.OnnxRuntime;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 6: dynamic batching. First the in-process ONNX Runtime curve (one session; batch 1, 2, 4, 8, 16 x intra-op
/// threads 1 and 2; images/s, each cell against batch 1 at the same threads). Then, side by side in one run: the
/// model served with batching at concurrency 16 against in-process ORT at the curve's best cell; batching on vs off
/// for a lone client (c=1 p50) and at c=16; and the Classy pipeline (server and hybrid sequencing) at c=16 with
/// batching at the model vs without.
/// </summary>
internal sealed class BatchingRows : IBenchRow
{
    private const string Group = "batching";
    private const int Concurrency = 16;
    private static readonly int[] BatchSizes = [1, 2, 4, 8, 16];
    private static readonly int[] Threads = [1, 2];
    private static readonly string[] LabelOutputs = [TopKLabelsStage.LabelsOutput, TopKLabelsStage.ScoresOutput];

    public string Id => Group;

    public string Title => "batching: in-process ORT batch curve; served with dynamic batching vs without and vs in-process ORT";

    private static string CurveName(int batch, int threads) => $"in-process ORT images/s: batch {batch}, intra-op {threads} vs batch 1";

    private const string ServedVsOrt = "throughput c=16: served with batching vs in-process ORT at the curve's best cell";
    private const string ServedOnOff = "throughput c=16: served, batching on vs off";
    private const string PinnedVsOrt = "throughput c=16, the model on its own core: served with batching (model thread pinned to one CPU, server and clients on another) vs in-process ORT pinned to the model's CPU";
    private const string PinnedSharedVsOrt = "throughput c=16, a core each: served with batching (server and its model pinned to one CPU, clients to another) vs in-process ORT pinned to the server's CPU";
    private const string FloorCeiling = "throughput c=16: ceiling set by the HTTP transfer of the requests (model + floor on the same cores) vs in-process ORT";
    private const string SpinningOffOn = "throughput c=16: served with batching, ONNX Runtime intra-op spinning off vs on";
    private const string LoneOnOff = "latency c=1: served, batching on vs off";
    private const string ServerSeq = "throughput c=16: Classy server sequencing, batching at the model vs off";
    private const string HybridSeq = "throughput c=16: Classy hybrid sequencing, batching at the model vs off";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var skip = context.ModelPath is not { } path ? context.ModelMissingReason
            : !File.Exists(path) ? $"model file '{path}' does not exist"
            : null;
        using var probe = skip is null ? new OnnxModelStage(new OnnxModelOptions { ModelPath = context.ModelPath!, IntraOpThreads = 1 }) : null;
        if (probe is not null)
        {
            var inputs = probe.Metadata.Inputs;
            skip = inputs.Count != 1 || inputs[0].Type != TensorType.Float32 || inputs[0].Shape.IsDefaultOrEmpty ? $"{Path.GetFileName(context.ModelPath)} needs exactly one float32 tensor input"
                : BatchingStage.Unbatchable(probe.Metadata);
        }

        if (skip is not null)
        {
            return [.. Threads.SelectMany(t => BatchSizes.Select(b => RowResult.Skip(Group, CurveName(b, t), RowTarget.None, skip))),
                RowResult.Skip(Group, ServedVsOrt, RowTarget.RatioAtLeast(0.95), skip), RowResult.Skip(Group, PinnedVsOrt, RowTarget.RatioAtLeast(0.95), skip), RowResult.Skip(Group, PinnedSharedVsOrt, RowTarget.None, skip), RowResult.Skip(Group, ServedOnOff, RowTarget.None, skip), RowResult.Skip(Group, SpinningOffOn, RowTarget.None, skip), RowResult.Skip(Group, FloorCeiling, RowTarget.None, skip),
                RowResult.Skip(Group, LoneOnOff, RowTarget.RatioAtMost(1.05), skip), RowResult.Skip(Group, ServerSeq, RowTarget.None, skip), RowResult.Skip(Group, HybridSeq, RowTarget.None, skip)];
        }

        var model = Path.GetFileName(context.ModelPath)!;
        var input = probe!.Metadata.Inputs[0];
        var output = probe.Metadata.Outputs[0].Name;
        var rows = new List<RowResult>();
        var best = (Batch: 1, Threads: 1, ImagesPerSecond: 0.0);
        var bestOneThread = (Batch: 1, ImagesPerSecond: 0.0);
        foreach (var threads in Threads)
        {
            context.Progress($"batching: {model}, in-process ORT curve, 1 session x {threads} intra-op thread(s)");
            using var ort = new BatchedOrt(context.ModelPath!, threads, input, output, BatchSizes);
            var ops = BatchSizes.Select(b => (Func<int, CancellationToken, ValueTask>)((_, _) => ort.Run(b))).ToArray();
            var results = await RowHelpers.AlternateAsync(context, ops, 1, context.ModelTime / 2, minOperationsPerRound: 1, cancellationToken).ConfigureAwait(false);
            var batch1 = results[0].OperationsPerSecond;
            for (var i = 0; i < BatchSizes.Length; i++)
            {
                var images = results[i].OperationsPerSecond * BatchSizes[i];
                if (images > best.ImagesPerSecond) best = (BatchSizes[i], threads, images);
                if (threads == 1 && images > bestOneThread.ImagesPerSecond) bestOneThread = (BatchSizes[i], images);
                rows.Add(RowResult.Compare(Group, CurveName(BatchSizes[i], threads), images, batch1, "images/s", RowTarget.None,
                    note: string.Create(CultureInfo.InvariantCulture, $"{model}; one session, intra-op {threads}, a ready [{BatchSizes[i]},...] input per run; {results[i].Succeeded} runs; ratio = images/s over batch 1's")));
            }
        }

        rows.AddRange(await ServedAsync(context, model, input, output, best.Batch, best.Threads, cancellationToken).ConfigureAwait(false));
        rows.AddRange(await PinnedAsync(context, model, input, output, bestOneThread.Batch, cancellationToken).ConfigureAwait(false));
        rows.AddRange(await ClassyAsync(context, model, best.Batch, best.Threads, cancellationToken).ConfigureAwait(false));
        return rows;
    }

    /// <summary>The model served with and without batching (one session, the best cell's threads), and in-process ORT at the best cell.</summary>
    private static async Task<RowResult[]> ServedAsync(SuiteContext context, string model, IOMetadata input, string output, int bestBatch, int bestThreads, CancellationToken cancellationToken)
    {
        using var onnx = new OnnxModelStage(new OnnxModelOptions { ModelPath = context.ModelPath!, IntraOpThreads = bestThreads, IntraOpSpinning = context.ServedSpinning });
        var options = new BatchingOptions { MaxBatchSize = ServedBatch(bestBatch), MaxQueueDelayMicroseconds = 500 };
        await using var batched = await SuiteHttp.HostAsync(s => s.AddBatchedStage("batched", onnx, options), cancellationToken).ConfigureAwait(false);
        await using var plain = await SuiteHttp.HostAsync(onnx, cancellationToken).ConfigureAwait(false);
        // The same served model with ONNX Runtime's intra-op spinning the other way, alternated in the same rounds.
        using var onnxFlipped = new OnnxModelStage(new OnnxModelOptions { ModelPath = context.ModelPath!, IntraOpThreads = bestThreads, IntraOpSpinning = !context.ServedSpinning });
        await using var flipped = await SuiteHttp.HostAsync(s => s.AddBatchedStage("batched", onnxFlipped, options), cancellationToken).ConfigureAwait(false);
        using var http = SuiteHttp.CreateClient(Concurrency, out _);
        var clientOptions = new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) };
        var onClient = new GraphPipeClient(http, batched.Address, clientOptions);
        var offClient = new GraphPipeClient(http, plain.Address, clientOptions);
        var flippedClient = new GraphPipeClient(http, flipped.Address, clientOptions);
        var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var request = new InferRequest { InputNames = [input.Name], Inputs = [Tensor.Create<float>(TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d)), shape)], OutputNames = [output] };
        using var ort = new BatchedOrt(context.ModelPath!, bestThreads, input, output, [bestBatch]);

        async ValueTask On(int worker, CancellationToken ct) => Check(await onClient.InferAsync(request, ct).ConfigureAwait(false));
        async ValueTask Off(int worker, CancellationToken ct) => Check(await offClient.InferAsync(request, ct).ConfigureAwait(false));
        async ValueTask Flipped(int worker, CancellationToken ct) => Check(await flippedClient.InferAsync(request, ct).ConfigureAwait(false));
        // In-process ORT runs one batch at a time (as the curve measured it); its 16 workers wait their turn on a
        // semaphore without using the CPU, so it can alternate with the served rows in the same rounds and see the
        // same background load (measured in a phase of its own, the ratio swung 0.62-1.43x on a busy machine).
        using var ortTurn = new SemaphoreSlim(1, 1);
        async ValueTask Ort(int worker, CancellationToken ct)
        {
            await ortTurn.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await ort.Run(bestBatch).ConfigureAwait(false);
            }
            finally
            {
                ortTurn.Release();
            }
        }

        var sessions = string.Create(CultureInfo.InvariantCulture, $"{model}; 1 session x intra-op {bestThreads}{(context.ServedSpinning ? ", spinning on" : ", spinning off")}; batching: max {options.MaxBatchSize} rows, delay {options.MaxQueueDelayMicroseconds} µs; one image per request");
        context.Progress($"batching: {model}, served c={Concurrency} with/without batching and in-process ORT at batch {bestBatch}, intra-op {bestThreads}");
        // What carrying the requests costs on these cores, with no model: the same bytes to a bare Kestrel sink at c=16.
        await using var sink = await SuiteHttp.StartEchoAsync(new Server.GraphPipeServerOptions().MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        var sinkUri = new Uri(sink.Address, "sink");
        var requestBytes = new GraphPipeWriter().WriteInferRequest(request).ToArray();
        ValueTask Floor(int worker, CancellationToken ct) => new(RowHelpers.PostBytesAsync(http, sinkUri, requestBytes, ct));
        LoopResult[] c16;
        // How full the batches came out (both batched hosts, this phase only): below the best cell's size, the model idles while requests travel.
        long batchRuns = 0, batchRows = 0;
        using (var sizes = new System.Diagnostics.Metrics.MeterListener())
        {
            sizes.InstrumentPublished = static (instrument, listener) =>
            {
                if (instrument.Meter.Name == BatchingTelemetry.MeterName && instrument.Name == "graphpipe.batch.size") listener.EnableMeasurementEvents(instrument);
            };
            sizes.SetMeasurementEventCallback<long>((_, rows, _, _) =>
            {
                Interlocked.Increment(ref batchRuns);
                Interlocked.Add(ref batchRows, rows);
            });
            sizes.Start();
            c16 = await RowHelpers.AlternateAsync(context, [On, Off, Floor, Flipped, Ort], Concurrency, context.ModelTime / 2, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
        }

        var meanBatch = batchRuns == 0 ? 0 : (double)batchRows / batchRuns;
        var ortImages = new LoopResultImages(c16[4], bestBatch);
        context.Progress($"batching: {model}, served c=1 with/without batching");
        var c1 = await RowHelpers.AlternateAsync(context, [On, Off], 1, context.ModelTime / 2, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);

        var target = RowTarget.RatioAtLeast(0.95);
        var vsOrt = RowResult.Compare(Group, ServedVsOrt, c16[0].OperationsPerSecond, ortImages.ImagesPerSecond, "images/s", target,
            note: string.Create(CultureInfo.InvariantCulture, $"{sessions}; baseline: in-process ORT, a ready batch of {bestBatch} per run (the curve's best cell, re-measured in the same rounds as the served rows), {ortImages.Runs} runs; served n={c16[0].Succeeded}, {meanBatch:F1} rows per run on average"));
        if (c16[0].ErrorCount > 0)
        {
            vsOrt = vsOrt with { Met = false, Note = vsOrt.Note + "; served failed: " + string.Join(", ", c16[0].Errors.Select(e => $"{e.Key} x{e.Value}")) };
        }

        return
        [
            vsOrt,
            RowHelpers.Throughput(Group, ServedOnOff, c16[0], c16[1], RowTarget.None, sessions + "; ratio = on/off images/s") with { Unit = "images/s" },
            context.ServedSpinning
                ? RowHelpers.Throughput(Group, SpinningOffOn, c16[3], c16[0], RowTarget.None, sessions + "; ratio = spinning off / on images/s, alternated in the same rounds") with { Unit = "images/s" }
                : RowHelpers.Throughput(Group, SpinningOffOn, c16[0], c16[3], RowTarget.None, sessions + "; ratio = spinning off / on images/s, alternated in the same rounds") with { Unit = "images/s" },
            RowResult.Compare(Group, FloorCeiling, Ceiling(ortImages.ImagesPerSecond, c16[2].OperationsPerSecond), ortImages.ImagesPerSecond, "images/s", RowTarget.None,
                note: string.Create(CultureInfo.InvariantCulture, $"the same {requestBytes.Length:N0} request bytes POSTed at c={Concurrency} to a bare Kestrel sink: {c16[2].OperationsPerSecond:F1} requests/s (n={c16[2].Succeeded}); ours = 1/(1/ORT + 1/floor), the most a server sharing these cores with its clients can reach if the model and the transfer each need the whole CPU; ratio = that ceiling over in-process ORT")),
            RowHelpers.Latency(Group, LoneOnOff, c1[0], c1[1], RowTarget.RatioAtMost(1.05), sessions + "; a lone client must not wait for companions"),
        ];
    }

    /// <summary>
    /// The 0.95x target with the load generator off the model's core. Two servers, each a child process with the model
    /// served with batching (1 session x 1 intra-op thread), against in-process ORT pinned to the model's CPU (CPU 1)
    /// running a ready batch of the 1-thread curve's best size, all three alternated in the same rounds; the 16
    /// clients on CPU 0. <b>Model on its own core</b> (the target row): the model's thread pinned to CPU 1 as
    /// <c>serve onnx --model-cpus 1</c> does, the HTTP server with the clients on CPU 0, so the model gets its core
    /// as the baseline does. <b>Server on the model's core</b> (reported): the whole server on CPU 1, so receiving
    /// 602 KB per image takes time from the model there.
    /// </summary>
    private static async Task<RowResult[]> PinnedAsync(SuiteContext context, string model, IOMetadata input, string output, int batch, CancellationToken cancellationToken)
    {
        var target = RowTarget.RatioAtLeast(0.95);
        if (CpuPinning.Unavailable is { } why)
        {
            return [RowResult.Skip(Group, PinnedVsOrt, target, why), RowResult.Skip(Group, PinnedSharedVsOrt, RowTarget.None, why)];
        }

        context.Progress($"batching: {model}, served c={Concurrency} with the model on CPU 1 (server on CPU 1, or with the clients on CPU 0), vs in-process ORT on CPU 1 at batch {batch}");
        var maxBatch = ServedBatch(batch);
        var (clientCpu, serverCpu) = CpuPinning.TwoCores();
        await using var own = await ChildHost.StartAsync(context.ModelPath!, threads: 1, maxBatch, context.ServedSpinning, CpuPinning.Number(serverCpu), cancellationToken).ConfigureAwait(false);
        await using var shared = await ChildHost.StartAsync(context.ModelPath!, threads: 1, maxBatch, context.ServedSpinning, modelCpu: null, cancellationToken).ConfigureAwait(false);
        CpuPinning.Pin(own.ProcessId, clientCpu, exceptModelThreads: true);
        CpuPinning.Pin(shared.ProcessId, serverCpu);
        using var http = SuiteHttp.CreateClient(Concurrency, out _);
        var clientOptions = new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) };
        var ownClient = new GraphPipeClient(http, own.Address, clientOptions);
        var sharedClient = new GraphPipeClient(http, shared.Address, clientOptions);
        var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var request = new InferRequest { InputNames = [input.Name], Inputs = [Tensor.Create<float>(TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d)), shape)], OutputNames = [output] };
        using var ort = new BatchedOrt(context.ModelPath!, 1, input, output, [batch]);
        async ValueTask Own(int worker, CancellationToken ct) => Check(await ownClient.InferAsync(request, ct).ConfigureAwait(false));
        async ValueTask Shared(int worker, CancellationToken ct) => Check(await sharedClient.InferAsync(request, ct).ConfigureAwait(false));
        ValueTask Ort(int worker, CancellationToken ct) => ort.Run(batch);

        var self = Environment.ProcessId;
        var allowed = CpuPinning.Allowed;
        var duration = context.PerRound(context.ModelTime / 2);
        var served = new List<LoopResult>[] { [], [] };
        var baseline = new List<LoopResult>();
        var loop = new LoopSettings(Concurrency, duration, context.Warmup, 5);
        try
        {
            CpuPinning.Pin(self, clientCpu);
            // The children start cold, unlike the in-process hosts that earlier rows warmed: a profile of a quick run
            // (perf, CPU 1) put 11% of a child's CPU in the JIT (tier-1 recompiles) and more in first-touch page faults.
            // One unmeasured round at full load lets that finish before the measured ones.
            foreach (var op in (Func<int, CancellationToken, ValueTask>[])[Own, Shared])
            {
                await ClosedLoopRunner.WarmAsync(op, Concurrency, context.JitWarmup, cancellationToken).ConfigureAwait(false);
                await ClosedLoopRunner.RunAsync(op, loop, cancellationToken).ConfigureAwait(false);
            }

            for (var round = 0; round < context.Rounds; round++)
            {
                CpuPinning.Pin(self, serverCpu);
                baseline.Add(await ClosedLoopRunner.RunAsync(Ort, new LoopSettings(1, duration, context.Warmup, 1), cancellationToken).ConfigureAwait(false));
                CpuPinning.Pin(self, clientCpu);
                served[0].Add(await ClosedLoopRunner.RunAsync(Own, loop, cancellationToken).ConfigureAwait(false));
                served[1].Add(await ClosedLoopRunner.RunAsync(Shared, loop, cancellationToken).ConfigureAwait(false));
            }
        }
        finally
        {
            CpuPinning.Pin(self, allowed);
        }

        var ortImages = new LoopResultImages(LoopResult.Merge(baseline), batch);
        var common = string.Create(CultureInfo.InvariantCulture, $"{model}; 1 session x intra-op 1{(context.ServedSpinning ? ", spinning on" : ", spinning off")}, batching max {maxBatch} rows, delay 500 µs; clients on CPU {CpuPinning.Number(clientCpu)}; baseline: in-process ORT on CPU {CpuPinning.Number(serverCpu)}, a ready batch of {batch} per run (the intra-op-1 curve's best cell), {ortImages.Runs} runs; rounds alternate");
        RowResult Row(string name, LoopResult ours, RowTarget rowTarget, string where)
        {
            var row = RowResult.Compare(Group, name, ours.OperationsPerSecond, ortImages.ImagesPerSecond, "images/s", rowTarget, note: $"{where}; {common}; served n={ours.Succeeded}");
            return ours.ErrorCount > 0
                ? row with { Met = false, Note = row.Note + "; served failed: " + string.Join(", ", ours.Errors.Select(e => $"{e.Key} x{e.Value}")) }
                : row;
        }

        return
        [
            Row(PinnedVsOrt, LoopResult.Merge(served[0]), target, string.Create(CultureInfo.InvariantCulture, $"server: a child process, its model thread on CPU {CpuPinning.Number(serverCpu)} (Cpus, as serve onnx --model-cpus), the rest of it on CPU {CpuPinning.Number(clientCpu)}")),
            Row(PinnedSharedVsOrt, LoopResult.Merge(served[1]), RowTarget.None, string.Create(CultureInfo.InvariantCulture, $"server: a child process wholly on CPU {CpuPinning.Number(serverCpu)}")),
        ];
    }

    /// <summary>Classy (preprocessor -> model with top-k labels) at c=16 in server and hybrid sequencing, batching at the model vs off.</summary>
    private static async Task<RowResult[]> ClassyAsync(SuiteContext context, string model, int bestBatch, int bestThreads, CancellationToken cancellationToken)
    {
        if (!File.Exists(SuiteImages.SamplePath))
        {
            var why = $"sample photo {SuiteImages.SamplePath} is missing";
            return [RowResult.Skip(Group, ServerSeq, RowTarget.None, why), RowResult.Skip(Group, HybridSeq, RowTarget.None, why)];
        }

        var jpeg = await File.ReadAllBytesAsync(SuiteImages.SamplePath, cancellationToken).ConfigureAwait(false);
        using var onnx = new OnnxModelStage(new OnnxModelOptions { ModelPath = context.ModelPath!, IntraOpThreads = bestThreads, IntraOpSpinning = context.ServedSpinning });
        var profile = PipelineRows.PickProfile(context.ProfileName, onnx.Metadata.Inputs[0]);
        var labels = context.LabelsPath is { } labelsPath ? TopKLabelsStage.ReadLabelsFile(labelsPath) : Placeholders(onnx.Metadata);
        var options = new BatchingOptions { MaxBatchSize = ServedBatch(bestBatch), MaxQueueDelayMicroseconds = 500 };
        using var batching = new BatchingStage(onnx, options);
        var policy = new NetworkPolicy { AllowPrivateNetworks = true };
        var preprocessor = new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = profile });
        await using var modelOn = await SuiteHttp.HostAsync(new TopKLabelsStage(batching, labels, 3), cancellationToken).ConfigureAwait(false);
        await using var modelOff = await SuiteHttp.HostAsync(new TopKLabelsStage(onnx, labels, 3), cancellationToken).ConfigureAwait(false);
        await using var serverOn = await SuiteHttp.HostAsync(s => s.AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { Next = modelOn.Address, ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);
        await using var serverOff = await SuiteHttp.HostAsync(s => s.AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { Next = modelOff.Address, ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);
        await using var hybrid = await SuiteHttp.HostAsync(s => s.AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);
        using var http = SuiteHttp.CreateClient(Concurrency, out _);
        var clientOptions = new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) };
        var images = Tensor.FromStrings([jpeg]);
        GraphPipeClient Client(Uri address) => new(http, address, clientOptions);
        var sOn = Client(serverOn.Address);
        var sOff = Client(serverOff.Address);
        var h = Client(hybrid.Address);
        var onConfig = modelOn.Address.ToString();
        var offConfig = modelOff.Address.ToString();
        Func<int, CancellationToken, ValueTask>[] ops =
        [
            async (_, ct) => CheckLabels(await sOn.InferAsync(new InferRequest { Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
            async (_, ct) => CheckLabels(await sOff.InferAsync(new InferRequest { Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
            async (_, ct) => CheckLabels(await h.InferAsync(new InferRequest { Config = onConfig, Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
            async (_, ct) => CheckLabels(await h.InferAsync(new InferRequest { Config = offConfig, Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
        ];
        context.Progress($"batching: {model}, Classy server and hybrid sequencing at c={Concurrency}, batching at the model on/off");
        var r = await RowHelpers.AlternateAsync(context, ops, Concurrency, context.ModelTime / 2, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
        var note = string.Create(CultureInfo.InvariantCulture, $"{model}; {jpeg.Length:N0}-byte JPEG, profile {profile.Name}, top-3 labels; model: 1 session x intra-op {bestThreads}, batching max {options.MaxBatchSize} rows, delay {options.MaxQueueDelayMicroseconds} µs; ratio = on/off images/s");
        return
        [
            RowHelpers.Throughput(Group, ServerSeq, r[0], r[1], RowTarget.None, note) with { Unit = "images/s" },
            RowHelpers.Throughput(Group, HybridSeq, r[2], r[3], RowTarget.None, note) with { Unit = "images/s" },
        ];
    }

    /// <summary>
    /// The served side's largest batch: the best cell's size, but at most half the clients. With closed-loop
    /// clients a batch of all of them leaves the model idle while the whole batch turns around (responses out,
    /// the next requests in); half lets one batch form while the other runs.
    /// </summary>
    private static int ServedBatch(int bestBatch) => Math.Clamp(bestBatch, 2, Concurrency / 2);

    private static double Ceiling(double model, double floor) => model <= 0 || floor <= 0 ? 0 : 1 / ((1 / model) + (1 / floor));

    private static void Check(InferResponse response)
    {
        if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
    }

    private static void CheckLabels(InferResponse response)
    {
        if (response.Outputs.Count < 2 || !response.Outputs[0].IsString) throw new InvalidDataException("the pipeline did not answer top_labels/top_scores");
    }

    private static string[] Placeholders(StageMetadata metadata)
    {
        var scores = metadata.Outputs.FirstOrDefault(o => o.Type == TensorType.Float32 && o.Shape.Length == 2 && o.Shape[1] > 0)
            ?? throw new ArgumentException($"'{metadata.Name}' has no float32 [N,C] output with a fixed C; give --labels FILE");
        return [.. Enumerable.Range(0, (int)scores.Shape[1]).Select(i => string.Create(CultureInfo.InvariantCulture, $"class {i}"))];
    }

    private readonly record struct LoopResultImages(LoopResult Result, int Batch)
    {
        public double ImagesPerSecond => Result.OperationsPerSecond * Batch;

        public long Runs => Result.Succeeded;
    }

    /// <summary>One plain ONNX Runtime session (the options <see cref="OnnxModelStage"/> sets) with a ready input per batch size.</summary>
    private sealed class BatchedOrt : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly Dictionary<int, OrtValue> _inputs = [];
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;

        public BatchedOrt(string path, int threads, IOMetadata input, string output, IReadOnlyList<int> batches)
        {
            using var options = new SessionOptions
            {
                IntraOpNumThreads = threads,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            _session = new InferenceSession(path, options);
            foreach (var batch in batches)
            {
                var shape = input.Shape.Select((d, i) => i == 0 ? batch : d < 0 ? 1L : d).ToArray();
                _inputs[batch] = OrtValue.CreateTensorValueFromMemory(TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d)), shape);
            }

            _inputNames = [input.Name];
            _outputNames = [output];
        }

        public ValueTask Run(int batch)
        {
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, _inputNames, [_inputs[batch]], _outputNames);
            return outputs.Count == 0 ? throw new InvalidDataException("no output") : ValueTask.CompletedTask;
        }

        public void Dispose()
        {
            foreach (var value in _inputs.Values) value.Dispose();
            _session.Dispose();
        }
    }
}
