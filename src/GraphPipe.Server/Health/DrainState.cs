using Microsoft.Extensions.Hosting;

namespace GraphPipe.Server.Health;

/// <summary>Whether the host is stopping: readiness fails from the first moment of a stop (SIGTERM, Ctrl+C, StopAsync).</summary>
internal sealed class DrainState
{
    private readonly IHostApplicationLifetime _lifetime;

    public DrainState(IHostApplicationLifetime lifetime) => _lifetime = lifetime;

    public bool IsDraining => _lifetime.ApplicationStopping.IsCancellationRequested;
}
