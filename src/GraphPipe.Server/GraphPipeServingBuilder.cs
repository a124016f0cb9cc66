using GraphPipe.Reloading;
using GraphPipe.Server.Serving;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;

namespace GraphPipe.Server;

/// <summary>
/// Configures what a serving host serves: stages by name (each at <c>/{name}</c>; the default one also at
/// <c>/</c>, where GraphPipe clients post), then protocol endpoints with <c>MapGraphPipe()</c>.
/// </summary>
public sealed class GraphPipeServingBuilder
{
    internal static readonly string[] ReservedNames = ["control", "metrics", "v2", "health"];

    internal GraphPipeServingBuilder(IServiceCollection services) => Services = services;

    public IServiceCollection Services { get; }

    /// <summary>
    /// Serves a stage built from the container; the host owns it and disposes it after the last request
    /// has finished. The first stage added is the default unless another says <paramref name="isDefault"/>.
    /// </summary>
    public GraphPipeServingBuilder AddStage(string name, Func<IServiceProvider, IInferenceStage> factory, bool isDefault = false)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Add(new StageRegistration(name, (services, _) => factory(services), isDefault, OwnedByHost: true));
    }

    /// <summary>Serves a stage the caller owns (and disposes after the host has stopped).</summary>
    public GraphPipeServingBuilder AddStage(string name, IInferenceStage stage, bool isDefault = false)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return Add(new StageRegistration(name, (_, _) => stage, isDefault, OwnedByHost: false));
    }

    /// <summary>
    /// Serves the stages <paramref name="directory"/> adds while the host runs (a model repository's new model
    /// directories), each at <c>/{name}</c> (and <c>/{name}/versions/{version}</c> when it has versions) from the moment
    /// it is added, with its own admission queue. Each is served like the stage named <paramref name="servedLike"/> (its
    /// forwarding to a next stage), or as it is. The caller owns the directory and the stages in it.
    /// </summary>
    public GraphPipeServingBuilder AddStageDirectory(Func<IServiceProvider, IStageDirectory> directory, string? servedLike = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Services.AddSingleton(new StageDirectoryRegistration(directory, servedLike));
        return this;
    }

    internal GraphPipeServingBuilder Add(StageRegistration registration)
    {
        CheckName(registration.Name);
        Services.AddSingleton(registration);
        return this;
    }

    private static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"stage name '{name}' must be one path segment", nameof(name));
        }

        if (ReservedNames.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"stage name '{name}' is reserved for the host's own paths ({string.Join(", ", ReservedNames)})", nameof(name));
        }
    }
}
