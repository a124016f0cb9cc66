using GraphPipe.Onnx.Repository;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Cli;

/// <summary>Starts the model repository's watch (hot reload) with the host; the container disposes the repository after the host has stopped.</summary>
internal sealed class ModelRepositoryWatch(ModelRepository repository, TimeProvider time, ILogger<ModelRepository> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        repository.StartWatching(time, logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
