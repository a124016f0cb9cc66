using GraphPipe.Download;
using GraphPipe.Imaging;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace Classy;

/// <summary>What <see cref="ClassyStack"/> serves: a classifier, its labels and the preprocessing it needs.</summary>
public sealed class ClassyStackOptions
{
    /// <summary>The classifier (e.g. the demo model, or an ImageNet VGG16 from the ONNX model zoo).</summary>
    public required string ModelPath { get; init; }

    /// <summary>One label per line, in the order of the model's score output.</summary>
    public required string LabelsPath { get; init; }

    /// <summary>The preprocessing the model expects (<c>resnet18</c> for the demo model, <c>vgg</c> for VGG16).</summary>
    public PreprocessProfile Profile { get; init; } = PreprocessProfile.Get("resnet18");

    public int TopK { get; init; } = 3;

    public int EngineCount { get; init; } = 1;

    public int IntraOpThreads { get; init; }

    /// <summary>Host the stages listen on; ports are picked free.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Where the downloader may fetch images from. Default: anywhere (the demo's images are on loopback); <c>classy web</c> narrows it.</summary>
    public NetworkPolicy DownloadPolicy { get; init; } = NetworkPolicy.AllowAll;

    /// <summary>Which next stages a request's <c>config</c> may name (hybrid sequencing). Default: anywhere; <c>classy web</c> allows only the stages' host.</summary>
    public NetworkPolicy RoutePolicy { get; init; } = NetworkPolicy.AllowAll;

    /// <summary>Applied to every stage's serving host after its stage is added (e.g. a second protocol door).</summary>
    public Action<GraphPipeServingBuilder>? ConfigureServing { get; init; }
}

/// <summary>
/// The Classy stages on loopback Kestrel servers inside one process: model (with labels), preprocessor
/// and downloader, plus a preprocessor and a downloader configured with <c>--next</c> for server
/// sequencing. This is what <c>classy demo</c> runs; <c>deploy/run-local.sh</c> does the same with one
/// process per stage.
/// </summary>
public sealed class ClassyStack : IAsyncDisposable
{
    private readonly List<GraphPipeStageHost> _hosts;
    private readonly List<IDisposable> _owned;

    private ClassyStack(List<GraphPipeStageHost> hosts, List<IDisposable> owned, ClassyEndpoints endpoints, TopKLabelsStage model)
    {
        _hosts = hosts;
        _owned = owned;
        Endpoints = endpoints;
        Model = model;
    }

    public ClassyEndpoints Endpoints { get; }

    /// <summary>The services of the host at <paramref name="endpoint"/> (one of <see cref="Endpoints"/>).</summary>
    public IServiceProvider ServicesOf(Uri endpoint) => _hosts.First(h => h.Address == endpoint).Services;

    /// <summary>The model stage with labels, for calling it in-process (same session as the served one).</summary>
    public TopKLabelsStage Model { get; }

    public static async Task<ClassyStack> StartAsync(ClassyStackOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hosts = new List<GraphPipeStageHost>();
        var owned = new List<IDisposable>();
        try
        {
            var onnx = new OnnxModelStage(new OnnxModelOptions
            {
                ModelPath = options.ModelPath,
                EngineCount = options.EngineCount,
                IntraOpThreads = options.IntraOpThreads,
            });
            owned.Add(onnx);
            var model = new TopKLabelsStage(onnx, TopKLabelsStage.ReadLabelsFile(options.LabelsPath), options.TopK);
            var listen = $"{options.Host}:0";
            // The stage is added first, always; ConfigureServing (if any) then adds to that host.
            // (Not 'ConfigureServing?.Invoke(serving.AddStage(...))': with no ConfigureServing that skips AddStage too.)
            void Configure(GraphPipeServingBuilder serving) => options.ConfigureServing?.Invoke(serving);
            var modelHost = await StartHostAsync(hosts, serving => Configure(serving.AddStage("model", model)), listen, cancellationToken).ConfigureAwait(false);

            var preprocessor = new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = options.Profile });
            // Everything runs on loopback, so client-named next stages (and the demo's image URLs) must be
            // allowed to be private addresses; a deployment keeps the default (public only) or an allow-list.
            var policy = options.RoutePolicy;
            var downloader = new DownloaderStage(new DownloaderOptions { Policy = options.DownloadPolicy });
            owned.Add(downloader);

            // Each stage on a host of its own, so every sequencing mode crosses real HTTP hops.
            Task<GraphPipeStageHost> Chain(string name, IInferenceStage stage, Uri? next)
                => StartHostAsync(hosts, serving => Configure(serving.AddForwardingStage(name, stage, new ForwardingOptions { Next = next, ConfigPolicy = policy })), listen, cancellationToken);

            var preHost = await Chain("preprocess", preprocessor, null).ConfigureAwait(false);
            var dlHost = await Chain("download", downloader, null).ConfigureAwait(false);
            var chainedPre = await Chain("preprocess", preprocessor, modelHost.Address).ConfigureAwait(false);
            var chainedDl = await Chain("download", downloader, chainedPre.Address).ConfigureAwait(false);
            var endpoints = new ClassyEndpoints(modelHost.Address, preHost.Address, dlHost.Address, chainedPre.Address, chainedDl.Address);
            return new ClassyStack(hosts, owned, endpoints, model);
        }
        catch
        {
            await DisposeAllAsync(hosts, owned).ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<GraphPipeStageHost> StartHostAsync(List<GraphPipeStageHost> hosts, Action<GraphPipeServingBuilder> addStages, string listen, CancellationToken cancellationToken)
    {
        var host = await GraphPipeStageHost.StartAsync(addStages, listen, cancellationToken: cancellationToken).ConfigureAwait(false);
        hosts.Add(host);
        return host;
    }

    /// <summary>Stops one stage's host (hosts in start order: model, preprocessor, downloader, chained preprocessor, chained downloader), as a crash would; for tests of a stage that goes down.</summary>
    internal Task StopStageAsync(Uri address, CancellationToken cancellationToken = default)
        => _hosts.Single(h => h.Address == address).StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => DisposeAllAsync(_hosts, _owned);

    private static async ValueTask DisposeAllAsync(List<GraphPipeStageHost> hosts, List<IDisposable> owned)
    {
        // Front stages first, so nothing calls a stage that is already gone.
        for (var i = hosts.Count - 1; i >= 0; i--)
        {
            await hosts[i].DisposeAsync().ConfigureAwait(false);
        }

        hosts.Clear();
        foreach (var item in owned)
        {
            item.Dispose();
        }

        owned.Clear();
    }
}
