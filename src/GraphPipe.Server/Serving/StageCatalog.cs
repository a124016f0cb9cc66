using GraphPipe.Reloading;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace GraphPipe.Server.Serving;

/// <summary>
/// The stages of one host, built from the registrations at start and grown by stage directories while serving (a
/// model repository's new model directories); disposes the ones the host owns. Requests read an immutable snapshot.
/// </summary>
internal sealed class StageCatalog : IAsyncDisposable
{
    private readonly GraphPipeServerOptions _options;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _owned = [];
    private readonly List<(IStageDirectory Directory, EventHandler<StageAddedEventArgs> Handler)> _subscriptions = [];
    private readonly Lock _adding = new();
    private Snapshot _snapshot;
    private CancellationTokenSource _grown = new();
    private bool _disposed;

    public StageCatalog(IEnumerable<StageRegistration> registrations, IEnumerable<StageDirectoryRegistration> directories, IServiceProvider services, IOptions<GraphPipeServerOptions> options)
    {
        var list = registrations.ToList();
        if (list.Count == 0)
        {
            throw new InvalidOperationException("The serving host has no stage: call AddStage on the builder AddGraphPipeServing() returns.");
        }

        var defaults = list.Where(r => r.IsDefault).ToList();
        if (defaults.Count > 1)
        {
            throw new InvalidOperationException($"Only one stage may be the default; {string.Join(", ", defaults.Select(d => d.Name))} all are.");
        }

        var defaultName = (defaults.Count == 1 ? defaults[0] : list[0]).Name;
        _options = options.Value;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger<StageCatalog>() ?? NullLogger<StageCatalog>.Instance;
        var byName = new Dictionary<string, ServedStage>(StringComparer.Ordinal);
        var stages = new List<ServedStage>();
        foreach (var registration in list)
        {
            if (byName.ContainsKey(registration.Name))
            {
                throw new InvalidOperationException($"Two stages are named '{registration.Name}'.");
            }

            var stage = registration.Factory(services, name => byName.GetValueOrDefault(name)?.Stage) ?? throw new InvalidOperationException($"The factory of stage '{registration.Name}' returned null.");
            if (registration.OwnedByHost)
            {
                // A forwarding decorator owns nothing itself; the stage it wraps is the host's to dispose.
                var owned = stage is GraphPipe.Pipelines.ForwardingStage forwarding ? forwarding.Inner : stage;
                if (owned is IDisposable disposable)
                {
                    _owned.Add(disposable);
                }
            }

            var isDefault = registration.Name == defaultName;
            var served = new ServedStage(registration.Name, stage, _options,
                isDefault ? _options.DefaultInputs.ToArray() : [],
                isDefault ? _options.DefaultOutputs.ToArray() : []);
            byName.Add(registration.Name, served);
            stages.Add(served);
            if (isDefault)
            {
                Default = served;
            }
        }

        Registered = stages;
        _snapshot = new Snapshot(byName, stages, []);
        foreach (var directory in directories)
        {
            Subscribe(directory, list, services);
        }
    }

    /// <summary>The stage on <c>/</c> and on every path that names no stage.</summary>
    public ServedStage Default { get; } = null!;

    /// <summary>Every stage served now: those registered at start, then those added.</summary>
    public IReadOnlyList<ServedStage> Stages => Volatile.Read(ref _snapshot).Stages;

    /// <summary>The stages registered at start, in order.</summary>
    public IReadOnlyList<ServedStage> Registered { get; }

    /// <summary>The stages added while serving, in the order they came.</summary>
    public IReadOnlyList<ServedStage> Added => Volatile.Read(ref _snapshot).Added;

    public ServedStage? Find(string name) => Volatile.Read(ref _snapshot).ByName.GetValueOrDefault(name);

    /// <summary>Fires when a stage is added (routes are built again).</summary>
    public IChangeToken GetChangeToken() => new CancellationChangeToken(Volatile.Read(ref _grown).Token);

    public ValueTask DisposeAsync()
    {
        Snapshot last;
        lock (_adding)
        {
            _disposed = true;
            last = _snapshot;
        }

        foreach (var (directory, handler) in _subscriptions)
        {
            directory.StageAdded -= handler;
        }

        foreach (var stage in last.Stages)
        {
            stage.Dispose();
        }

        // The host stops (and waits for in-flight requests) before the container disposes this, so no
        // request is still running on a stage disposed here.
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }

        _owned.Clear();
        return ValueTask.CompletedTask;
    }

    private void Subscribe(StageDirectoryRegistration registration, List<StageRegistration> registrations, IServiceProvider services)
    {
        Func<IServiceProvider, Func<string, IInferenceStage?>, IInferenceStage, IInferenceStage>? serveLike = null;
        if (registration.ServedLike is { } like)
        {
            serveLike = (registrations.FirstOrDefault(r => r.Name == like)
                ?? throw new InvalidOperationException($"Stages added while serving are to be served like '{like}', which is not a stage of this host.")).ServeLike;
        }

        var directory = registration.Directory(services) ?? throw new InvalidOperationException("The stage directory factory returned null.");
        EventHandler<StageAddedEventArgs> handler = (_, e) => Add(e.Name, e.Stage, serveLike, services, announced: true);
        directory.StageAdded += handler;
        _subscriptions.Add((directory, handler));
        // Those already there (added before this subscribed) too; the ones registered at start are skipped by name.
        foreach (var (name, stage) in directory.Stages)
        {
            Add(name, stage, serveLike, services, announced: false);
        }
    }

    private void Add(string name, IInferenceStage stage, Func<IServiceProvider, Func<string, IInferenceStage?>, IInferenceStage, IInferenceStage>? serveLike, IServiceProvider services, bool announced)
    {
        var path = GraphPipeStageHost.SafeName(name);
        CancellationTokenSource grown;
        lock (_adding)
        {
            var now = _snapshot;
            if (_disposed)
            {
                return;
            }

            if (now.ByName.ContainsKey(path))
            {
                if (announced)
                {
                    Log.StageNameTaken(_logger, name, path);
                }

                return;
            }

            var served = new ServedStage(path, serveLike is null ? stage : serveLike(services, n => Find(n)?.Stage, stage), _options, [], []);
            var byName = new Dictionary<string, ServedStage>(now.ByName, StringComparer.Ordinal) { [path] = served };
            Volatile.Write(ref _snapshot, new Snapshot(byName, [.. now.Stages, served], [.. now.Added, served]));
            grown = _grown;
            _grown = new CancellationTokenSource();
        }

        Log.StageAdded(_logger, path);
        // Not disposed: a reader may still take its token (it holds no timer, so nothing leaks).
        grown.Cancel();
    }

    private sealed record Snapshot(Dictionary<string, ServedStage> ByName, IReadOnlyList<ServedStage> Stages, IReadOnlyList<ServedStage> Added);
}
