using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Health;

/// <summary>
/// Holds the listener open for <see cref="GraphPipeServerOptions.DrainDelay"/> after a stop is requested:
/// hosted-lifecycle "stopping" runs after ApplicationStopping (readiness already 503) and before Kestrel
/// stops accepting, which then waits up to the shutdown timeout for in-flight requests; the stages are
/// disposed only after that, with the container.
/// </summary>
internal sealed class DrainOnStopService(IOptions<GraphPipeServerOptions> options, DrainState drain, TimeProvider time, ILogger<DrainOnStopService> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        drain.Begin();
        var delay = options.Value.DrainDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        Log.Draining(logger, delay.TotalSeconds);
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first; stop now.
        }

        Log.Drained(logger, options.Value.ShutdownTimeout.TotalSeconds);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
