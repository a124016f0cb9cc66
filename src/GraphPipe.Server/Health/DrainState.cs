using Microsoft.Extensions.Hosting;

namespace GraphPipe.Server.Health;

/// <summary>Whether the host is stopping: readiness fails from the first moment of a stop (SIGTERM, Ctrl+C, StopAsync).</summary>
internal sealed class DrainState(IHostApplicationLifetime lifetime)
{
    private volatile bool _draining;

    // A signal triggers ApplicationStopping first; a direct StopAsync reaches the drain service's
    // "stopping" step before it, so either one marks the host as draining.
    public bool IsDraining => _draining || lifetime.ApplicationStopping.IsCancellationRequested;

    public void Begin() => _draining = true;
}
