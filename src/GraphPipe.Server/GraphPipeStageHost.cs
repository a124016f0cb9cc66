using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Server;

/// <summary>
/// Runs one stage on its own Kestrel server inside the current process: for demos that start a whole
/// pipeline in one process, for tests, and for embedding a stage in an existing application.
/// </summary>
public sealed class GraphPipeStageHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GraphPipeStageHost(WebApplication app, IInferenceStage stage, Uri address)
    {
        _app = app;
        Stage = stage;
        Address = address;
    }

    /// <summary>The URL the stage answers on (e.g. <c>http://127.0.0.1:41234/</c>).</summary>
    public Uri Address { get; }

    public IInferenceStage Stage { get; }

    /// <summary>Starts serving <paramref name="stage"/> on <paramref name="listen"/> (<c>HOST:PORT</c>; port 0 picks a free one).</summary>
    public static async Task<GraphPipeStageHost> StartAsync(IInferenceStage stage, string listen = "127.0.0.1:0", Action<GraphPipeServerOptions>? configure = null, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var options = new GraphPipeServerOptions();
        configure?.Invoke(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.WebHost.UseGraphPipeListen(listen, options.MaxRequestBytes);
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
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GraphPipeStageHost(app, stage, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Stops accepting requests and lets in-flight ones finish.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
