using System.Globalization;
using GraphPipe.Client;
using GraphPipe.Download;
using GraphPipe.Imaging;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 5: the Classy classification pipeline, JPEG in, labels out (preprocessor -> model with
/// <see cref="TopKLabelsStage"/>), in the three sequencings, against the model stage alone fed the ready
/// tensor. All stages run on loopback exactly as <c>graphpipe serve</c> hosts them; the model-alone side
/// calls the very same model host (same sessions), so the difference is what the pipeline adds: the
/// preprocessing, the extra hop and, for client sequencing, the tensor's trip through the client.
/// </summary>
internal sealed class PipelineRows : IBenchRow
{
    private const string Group = "pipeline";
    private const int Concurrency = 4;
    private const double Target = 0.85;
    private const int ByteSamples = 3;
    private static readonly string[] LabelOutputs = [TopKLabelsStage.LabelsOutput, TopKLabelsStage.ScoresOutput];

    /// <summary>
    /// The sides besides the model alone, in the order of <see cref="Stack.Operations"/>. Client sequencing
    /// carries the tensor through the client by design, and the URL variant adds a download: both measured, not judged.
    /// </summary>
    private static readonly Mode[] Modes =
    [
        new("client sequencing", RowTarget.None, FromUrl: false, "client posts the JPEG to the preprocessor, gets the tensor, posts it to the model"),
        new("server sequencing", RowTarget.RatioAtLeast(Target), FromUrl: false, "client posts the JPEG to a preprocessor configured to forward to the model"),
        new("hybrid sequencing", RowTarget.RatioAtLeast(Target), FromUrl: false, "client posts the JPEG to the preprocessor with the model URL in config"),
        new("server sequencing, co-located", RowTarget.None, FromUrl: false, "client posts the JPEG to one host serving the preprocessor and the model, chained in-process (no HTTP hop, no tensor copy between them)"),
        new("server sequencing from URL", RowTarget.None, FromUrl: true, "client posts the photo's URL (a loopback Kestrel file server) to a downloader forwarding to the forwarding preprocessor"),
    ];

    public string Id => Group;

    public string Title => "pipeline: JPEG -> labels through preprocessor and model stages vs the model stage alone";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var skipReason = context.ModelPath is not { } path ? context.ModelMissingReason
            : !File.Exists(path) ? $"model file '{path}' does not exist"
            : !File.Exists(SuiteImages.SamplePath) ? $"sample photo {SuiteImages.SamplePath} is missing"
            : null;
        if (skipReason is not null)
        {
            return [.. Modes.SelectMany(m => new[]
            {
                RowResult.Skip(Group, LatencyName(m), RowTarget.None, skipReason),
                RowResult.Skip(Group, ThroughputName(m), m.Target, skipReason),
                RowResult.Skip(Group, BytesName(m), RowTarget.None, skipReason),
            })];
        }

        var jpeg = await File.ReadAllBytesAsync(SuiteImages.SamplePath, cancellationToken).ConfigureAwait(false);
        await using var files = await SuiteHttp.StartFileServerAsync(jpeg, "image/jpeg", cancellationToken).ConfigureAwait(false);
        var model = Path.GetFileName(context.ModelPath)!;
        var rows = new List<RowResult>();

        context.Progress($"pipeline: {model}, concurrency 1, 1 session x {context.IntraOpThreads} intra-op thread(s)");
        await using (var stack = await Stack.StartAsync(context, sessions: 1, context.IntraOpThreads, maxConnections: 1, cancellationToken).ConfigureAwait(false))
        {
            var ops = stack.Operations(jpeg, files.Address);
            await stack.CheckAgreeAsync(ops, cancellationToken).ConfigureAwait(false);
            // Six sides share the budget of the two-sided model row; half of it each keeps the row near a minute in quick mode.
            var c1 = await RowHelpers.AlternateAsync(context, ops, 1, context.ModelTime / 2, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
            for (var m = 0; m < Modes.Length; m++)
            {
                rows.Add(RowHelpers.Latency(Group, LatencyName(Modes[m]), c1[m + 1], c1[0], RowTarget.None, stack.Note(jpeg, Modes[m], 1)));
            }

            rows.AddRange(await stack.BytesRowsAsync(ops, jpeg, cancellationToken).ConfigureAwait(false));
        }

        var threads4 = Math.Max(1, Environment.ProcessorCount / context.EngineCount);
        context.Progress($"pipeline: {model}, concurrency {Concurrency}, {context.EngineCount} sessions x {threads4} intra-op thread(s)");
        await using (var stack = await Stack.StartAsync(context, context.EngineCount, threads4, Concurrency, cancellationToken).ConfigureAwait(false))
        {
            var ops = stack.Operations(jpeg, files.Address);
            var c4 = await RowHelpers.AlternateAsync(context, ops, Concurrency, context.ModelTime / 2, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
            for (var m = 0; m < Modes.Length; m++)
            {
                var row = RowHelpers.Throughput(Group, ThroughputName(Modes[m]), c4[m + 1], c4[0], Modes[m].Target, stack.Note(jpeg, Modes[m], Concurrency) + "; ratio = mode/model-alone images/s");
                rows.Insert(Modes.Length + m, row with { Unit = "images/s" });
            }
        }

        return rows;
    }

    private static string LatencyName(Mode mode) => $"latency c=1: JPEG -> labels, {mode.Name} vs model alone";

    private static string ThroughputName(Mode mode) => $"throughput c={Concurrency}: JPEG -> labels, {mode.Name} vs model alone";

    private static string BytesName(Mode mode) => $"bytes/image on the client: {mode.Name} vs model alone";

    /// <summary>One way of running the pipeline: its row name, its throughput target and what the client does.</summary>
    private sealed record Mode(string Name, RowTarget Target, bool FromUrl, string Description);

    /// <summary>The model-input profile: as given, else from the input's layout (channels second: resnet18, channels last: vgg) and size.</summary>
    internal static PreprocessProfile PickProfile(string? name, IOMetadata input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = input.Shape;
        var profile = name is not null ? PreprocessProfile.Get(name)
            : shape.Length == 4 && shape[1] == 3 ? PreprocessProfile.Get("resnet18")
            : shape.Length == 4 && shape[3] == 3 ? PreprocessProfile.Get("vgg")
            : throw new ArgumentException($"cannot tell the preprocessing of input {input}; give --profile ({string.Join(", ", PreprocessProfile.Names)})");
        if (shape.Length == 4)
        {
            var (h, w) = profile.Layout == TensorLayout.Nchw ? (shape[2], shape[3]) : (shape[1], shape[2]);
            profile = profile.With(width: w > 0 ? (int)w : null, height: h > 0 ? (int)h : null);
        }

        return profile;
    }

    /// <summary>The stages on loopback: model (with labels), preprocessor, and a preprocessor configured to forward to the model.</summary>
    private sealed class Stack : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _hosts = [];
        private readonly List<IDisposable> _owned = [];
        private GraphPipeClient _model = null!;
        private GraphPipeClient _preprocessor = null!;
        private GraphPipeClient _chained = null!;
        private GraphPipeClient _colocated = null!;
        private GraphPipeClient _downloader = null!;
        private ByteCountingHandler _counter = null!;
        private Uri _modelAddress = null!;
        private PreprocessProfile _profile = null!;
        private string _sessions = string.Empty;

        // The top label of the latest answer: every call writes it (a racy but harmless reference store under
        // concurrency); only CheckAgreeAsync reads it, and it runs the sides one call at a time.
        private string? _lastTop;

        public static async Task<Stack> StartAsync(SuiteContext context, int sessions, int intraOpThreads, int maxConnections, CancellationToken cancellationToken)
        {
            var stack = new Stack();
            try
            {
                var onnx = new OnnxModelStage(new OnnxModelOptions { ModelPath = context.ModelPath!, EngineCount = sessions, IntraOpThreads = intraOpThreads });
                stack._owned.Add(onnx);
                stack._profile = PickProfile(context.ProfileName, onnx.Metadata.Inputs[0]);
                var labels = context.LabelsPath is { } labelsPath ? TopKLabelsStage.ReadLabelsFile(labelsPath) : Placeholders(onnx.Metadata);
                var modelStage = new TopKLabelsStage(onnx, labels, 3);
                var modelHost = await stack.HostAsync(modelStage, cancellationToken).ConfigureAwait(false);
                stack._modelAddress = modelHost.Address;

                // The next stage is on loopback, which the default policy (public addresses only) refuses for
                // client-named hops; a deployment keeps the default or an allow-list.
                var policy = new NetworkPolicy { AllowPrivateNetworks = true };
                var preprocessor = new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = stack._profile });
                var plain = await stack.HostAsync(s => s.AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);
                var chained = await stack.HostAsync(s => s.AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { Next = modelHost.Address, ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);
                var colocated = await stack.HostAsync(s => s
                    .AddStage("model", modelStage)
                    .AddForwardingStage("preprocess", preprocessor, new ForwardingOptions { LocalNext = "model", ConfigPolicy = policy }, isDefault: true), cancellationToken).ConfigureAwait(false);
                // The image origin is on loopback too, which the downloader's default policy refuses (SSRF protection).
                var download = new DownloaderStage(new DownloaderOptions { Policy = policy });
                stack._owned.Add(download);
                var chainedDownload = await stack.HostAsync(s => s.AddForwardingStage("download", download, new ForwardingOptions { Next = chained.Address, ConfigPolicy = policy }), cancellationToken).ConfigureAwait(false);

                var http = SuiteHttp.CreateClient(maxConnections, out stack._counter);
                stack._owned.Add(http);
                var options = new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) };
                stack._model = new GraphPipeClient(http, modelHost.Address, options);
                stack._preprocessor = new GraphPipeClient(http, plain.Address, options);
                stack._chained = new GraphPipeClient(http, chained.Address, options);
                stack._colocated = new GraphPipeClient(http, colocated.Address, options);
                stack._downloader = new GraphPipeClient(http, chainedDownload.Address, options);
                stack._sessions = string.Create(CultureInfo.InvariantCulture, $"{sessions} session(s) x intra-op {intraOpThreads}");
                return stack;
            }
            catch
            {
                await stack.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>[model alone, then <see cref="Modes"/>]: each classifies the JPEG once (model alone: its ready tensor).</summary>
        public Func<int, CancellationToken, ValueTask>[] Operations(byte[] jpeg, Uri imageUrl)
        {
            var urls = Tensor.FromStrings([System.Text.Encoding.UTF8.GetBytes(imageUrl.ToString())]);
            var images = Tensor.FromStrings([jpeg]);
            var floats = new float[_profile.ElementsPerImage];
            // The same preprocessing the stage runs, done once: the model-alone side gets exactly the tensor the pipeline builds.
            ImagePreprocessor.Preprocess(jpeg, _profile, floats);
            var ready = Tensor.Create<float>(floats, [.. _profile.Shape(1)]);
            var hybridConfig = _modelAddress.ToString();
            return
            [
                async (_, ct) => Check(await _model.InferAsync(new InferRequest { Inputs = [ready], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
                async (_, ct) =>
                {
                    var tensor = await _preprocessor.InferAsync(new InferRequest { Inputs = [images] }, ct).ConfigureAwait(false);
                    Check(await _model.InferAsync(new InferRequest { Inputs = [tensor.Outputs[0]], OutputNames = LabelOutputs }, ct).ConfigureAwait(false));
                },
                async (_, ct) => Check(await _chained.InferAsync(new InferRequest { Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
                async (_, ct) => Check(await _preprocessor.InferAsync(new InferRequest { Config = hybridConfig, Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
                async (_, ct) => Check(await _colocated.InferAsync(new InferRequest { Inputs = [images], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
                async (_, ct) => Check(await _downloader.InferAsync(new InferRequest { Inputs = [urls], OutputNames = LabelOutputs }, ct).ConfigureAwait(false)),
            ];
        }

        /// <summary>Every sequencing must give the model-alone answer: a pipeline that is fast but wrong is not measured.</summary>
        public async Task CheckAgreeAsync(Func<int, CancellationToken, ValueTask>[] operations, CancellationToken cancellationToken)
        {
            var answers = new List<string>();
            foreach (var operation in operations)
            {
                _lastTop = null;
                await operation(0, cancellationToken).ConfigureAwait(false);
                answers.Add(_lastTop ?? "(none)");
            }

            if (answers.Distinct(StringComparer.Ordinal).Count() != 1)
            {
                throw new InvalidDataException("the sequencings disagree on the top label: model alone " + answers[0] + ", "
                    + string.Join(", ", Modes.Select((m, i) => $"{m.Name} {answers[i + 1]}")));
            }
        }

        public async Task<IReadOnlyList<RowResult>> BytesRowsAsync(Func<int, CancellationToken, ValueTask>[] operations, byte[] jpeg, CancellationToken cancellationToken)
        {
            var perImage = new (double Sent, double Received, double Calls)[operations.Length];
            for (var i = 0; i < operations.Length; i++)
            {
                _counter.Reset();
                for (var n = 0; n < ByteSamples; n++)
                {
                    await operations[i](0, cancellationToken).ConfigureAwait(false);
                }

                perImage[i] = ((double)_counter.BytesSent / ByteSamples, (double)_counter.BytesReceived / ByteSamples, (double)_counter.Requests / ByteSamples);
            }

            const double Kb = 1000;
            var alone = perImage[0];
            return [.. Modes.Select((mode, m) =>
            {
                var side = perImage[m + 1];
                return RowResult.Compare(Group, BytesName(mode), (side.Sent + side.Received) / Kb, (alone.Sent + alone.Received) / Kb, "KB/image", RowTarget.None,
                    note: FormattableString.Invariant($"request + response bodies through the client (headers not counted), {side.Calls:0} call(s)/image: sent {side.Sent / Kb:0.0} KB, received {side.Received / Kb:0.0} KB; model alone sends the ready tensor: {alone.Sent / Kb:0.0} KB, receives {alone.Received / Kb:0.0} KB; JPEG {jpeg.Length / Kb:0.0} KB"));
            })];
        }

        public string Note(byte[] jpeg, Mode mode, int concurrency) => FormattableString.Invariant(
            $"{mode.Description}; {jpeg.Length:N0}-byte 500x375 JPEG{(mode.FromUrl ? " downloaded by the downloader stage" : " sent as bytes (no downloader)")}, profile {_profile.Name}, top-3 labels; model stage {_sessions}, shared by both sides; c={concurrency}");

        private void Check(InferResponse response)
        {
            if (response.Outputs.Count < 2 || !response.Outputs[0].IsString)
            {
                throw new InvalidDataException("the pipeline did not answer top_labels/top_scores");
            }

            _lastTop = response.Outputs[0].ToStringArray()[0];
        }

        private Task<GraphPipeStageHost> HostAsync(IInferenceStage stage, CancellationToken cancellationToken)
            => HostAsync(s => s.AddStage(string.IsNullOrWhiteSpace(stage.Metadata.Name) ? "stage" : stage.Metadata.Name, stage), cancellationToken);

        private async Task<GraphPipeStageHost> HostAsync(Action<GraphPipeServingBuilder> addStages, CancellationToken cancellationToken)
        {
            var host = await SuiteHttp.HostAsync(addStages, cancellationToken).ConfigureAwait(false);
            _hosts.Add(host);
            return host;
        }

        /// <summary>Labels <c>class 0..C-1</c> for a model given without <c>--labels</c>: the row measures, it does not interpret.</summary>
        private static string[] Placeholders(StageMetadata metadata)
        {
            var scores = metadata.Outputs.FirstOrDefault(o => o.Type == TensorType.Float32 && o.Shape.Length == 2 && o.Shape[1] > 0)
                ?? throw new ArgumentException($"'{metadata.Name}' has no float32 [N,C] output with a fixed C; give --labels FILE");
            return [.. Enumerable.Range(0, (int)scores.Shape[1]).Select(i => string.Create(CultureInfo.InvariantCulture, $"class {i}"))];
        }

        public async ValueTask DisposeAsync()
        {
            // Front stages first, so nothing calls a stage that is already gone.
            for (var i = _hosts.Count - 1; i >= 0; i--)
            {
                await _hosts[i].DisposeAsync().ConfigureAwait(false);
            }

            foreach (var item in _owned)
            {
                item.Dispose();
            }
        }
    }
}
