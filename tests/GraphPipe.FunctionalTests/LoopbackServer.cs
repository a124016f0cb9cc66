using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests;

/// <summary>A real Kestrel server on 127.0.0.1 (ephemeral port) serving one stage (<see cref="GraphPipeStageHost"/>), plus a client for it.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly GraphPipeStageHost _host;
    private readonly HttpClient _http;
    private IDisposable? _ownedStage;

    private LoopbackServer(GraphPipeStageHost host)
    {
        _host = host;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Client = new GraphPipeClient(_http, host.Address);
    }

    public Uri Address => _host.Address;

    public GraphPipeClient Client { get; }

    public HttpClient Http => _http;

    /// <summary>Stops accepting requests and lets in-flight ones finish (graceful shutdown).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _host.StopAsync(cancellationToken);

    public static async Task<LoopbackServer> StartAsync(IInferenceStage stage, Action<GraphPipeServerOptions>? configure = null)
        => new(await GraphPipeStageHost.StartAsync(stage, "127.0.0.1:0", configure).WaitAsync(TimeSpan.FromSeconds(30)));

    /// <summary>Serves one of the test models (see tests/assets/models) with a real ONNX Runtime session, disposed with the server.</summary>
    public static async Task<LoopbackServer> StartOnnxAsync(string model, Action<GraphPipeServerOptions>? configure = null, Action<OnnxModelOptions>? configureModel = null)
    {
        var path = TestModels.Path(model);
        var options = new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1, Name = System.IO.Path.GetFileNameWithoutExtension(model) };
        configureModel?.Invoke(options);
        var stage = new OnnxModelStage(options);
        try
        {
            var server = await StartAsync(stage, configure).WaitAsync(TimeSpan.FromSeconds(30));
            server._ownedStage = stage;
            return server;
        }
        catch
        {
            stage.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try
        {
            await _host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            _ownedStage?.Dispose();
        }
    }
}
