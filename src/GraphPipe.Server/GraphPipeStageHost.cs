using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Server;

/// <summary>
/// Runs stages on their own Kestrel server inside the current process (the serving host of
/// <see cref="GraphPipeServerExtensions.AddGraphPipeServing"/>): for demos that start a whole pipeline in
/// one process, for tests, and for embedding stages in an existing application. It leaves SIGTERM and
/// Ctrl+C to the program that embeds it.
/// </summary>
public sealed class GraphPipeStageHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GraphPipeStageHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The URL the default stage answers on (e.g. <c>http://127.0.0.1:41234/</c>); other stages are at <c>Address/{name}</c>.</summary>
    public Uri Address { get; }

    /// <summary>The host's services (options, health checks).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts serving <paramref name="stage"/> on <paramref name="listen"/> (<c>HOST:PORT</c>; port 0 picks a free one). The caller keeps ownership of the stage.</summary>
    public static Task<GraphPipeStageHost> StartAsync(IInferenceStage stage, string listen = "127.0.0.1:0", Action<GraphPipeServerOptions>? configure = null, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var name = string.IsNullOrWhiteSpace(stage.Metadata.Name) ? "stage" : stage.Metadata.Name;
        return StartAsync(serving => serving.AddStage(SafeName(name), stage), listen, configure, logging, cancellationToken);
    }

    /// <summary>Starts a host with the stages (and telemetry) <paramref name="addStages"/> adds.</summary>
    public static async Task<GraphPipeStageHost> StartAsync(Action<GraphPipeServingBuilder> addStages, string listen = "127.0.0.1:0", Action<GraphPipeServerOptions>? configure = null, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addStages);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        // No console lifetime: an embedded host must not take SIGTERM/Ctrl+C from the program around it.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseGraphPipeListen(listen);
        addStages(builder.Services.AddGraphPipeServing(configure));
        var app = builder.Build();
        app.MapGraphPipe();
        foreach (var door in app.Services.GetServices<IProtocolEndpoints>())
        {
            door.Map(app);
        }

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GraphPipeStageHost(app, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    /// <summary>Stops: readiness fails, the drain delay passes, then the listener closes and in-flight requests finish.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A stage's metadata name made into one path segment.</summary>
    internal static string SafeName(string name)
    {
        var safe = new string(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return GraphPipeServingBuilder.ReservedNames.Contains(safe, StringComparer.OrdinalIgnoreCase) ? safe + "_stage" : safe;
    }

    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
