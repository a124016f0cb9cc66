using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Server;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests;

/// <summary>A real Kestrel server on 127.0.0.1 (ephemeral port) serving one stage, plus a client for it.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;
    private IDisposable? _ownedStage;

    private LoopbackServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Client = new GraphPipeClient(_http, address);
    }

    public Uri Address { get; }

    public GraphPipeClient Client { get; }

    public HttpClient Http => _http;

    public WebApplication App => _app;

    public static async Task<LoopbackServer> StartAsync(IInferenceStage stage, Action<GraphPipeServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var options = new GraphPipeServerOptions();
        configure?.Invoke(options);
        builder.WebHost.UseGraphPipeListen("127.0.0.1:0", options.MaxRequestBytes);
        builder.Services.AddGraphPipeServer(o =>
        {
            o.MaxRequestBytes = options.MaxRequestBytes;
            o.RequestTimeout = options.RequestTimeout;
            o.MaxConcurrentRequests = options.MaxConcurrentRequests;
            o.MaxQueuedRequests = options.MaxQueuedRequests;
            o.EnableShutdownEndpoint = options.EnableShutdownEndpoint;
            foreach (var name in options.DefaultInputs) o.DefaultInputs.Add(name);
            foreach (var name in options.DefaultOutputs) o.DefaultOutputs.Add(name);
        });
        builder.Services.AddSingleton(stage);
        var app = builder.Build();
        app.MapGraphPipe();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, new Uri(address));
    }

    /// <summary>Serves one of the test models (see tests/assets/models) with a real ONNX Runtime session, disposed with the server.</summary>
    public static async Task<LoopbackServer> StartOnnxAsync(string model, Action<GraphPipeServerOptions>? configure = null)
    {
        var path = TestModels.Path(model);
        var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1, Name = System.IO.Path.GetFileNameWithoutExtension(model) });
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
            await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await _app.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            _ownedStage?.Dispose();
        }
    }
}
