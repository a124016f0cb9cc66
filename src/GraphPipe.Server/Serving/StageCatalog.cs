using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Serving;

/// <summary>The stages of one host, built once from the registrations; disposes the ones the host owns.</summary>
internal sealed class StageCatalog : IAsyncDisposable
{
    private readonly Dictionary<string, ServedStage> _byName;
    private readonly List<IDisposable> _owned = [];

    public StageCatalog(IEnumerable<StageRegistration> registrations, IServiceProvider services, IOptions<GraphPipeServerOptions> options)
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
        var o = options.Value;
        _byName = new Dictionary<string, ServedStage>(StringComparer.Ordinal);
        var stages = new List<ServedStage>();
        foreach (var registration in list)
        {
            if (_byName.ContainsKey(registration.Name))
            {
                throw new InvalidOperationException($"Two stages are named '{registration.Name}'.");
            }

            var stage = registration.Factory(services, name => _byName.GetValueOrDefault(name)?.Stage) ?? throw new InvalidOperationException($"The factory of stage '{registration.Name}' returned null.");
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
            var served = new ServedStage(registration.Name, stage, o,
                isDefault ? o.DefaultInputs.ToArray() : [],
                isDefault ? o.DefaultOutputs.ToArray() : []);
            _byName.Add(registration.Name, served);
            stages.Add(served);
            if (isDefault)
            {
                Default = served;
            }
        }

        Stages = stages;
    }

    /// <summary>The stage on <c>/</c> and on every path that names no stage.</summary>
    public ServedStage Default { get; } = null!;

    public IReadOnlyList<ServedStage> Stages { get; }

    public ServedStage? Find(string name) => _byName.GetValueOrDefault(name);

    public ValueTask DisposeAsync()
    {
        foreach (var stage in Stages)
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
}
