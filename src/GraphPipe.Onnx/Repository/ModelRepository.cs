using System.Globalization;
using System.Security.Cryptography;
using GraphPipe.Reloading;
using GraphPipe.Stages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GraphPipe.Onnx.Repository;

/// <summary>
/// Serves several ONNX models, each with versions, and keeps them in step with the disk: a new version
/// directory or a replaced file is loaded in the background (watched with <see cref="FileSystemWatcher"/>,
/// polled as a fallback) and swapped in atomically; requests in flight finish on the old session, which is
/// disposed after them. A file that does not load leaves the version served before in place, and says why
/// in the log and in <c>graphpipe.model.reloads</c>. With <see cref="ModelRepositoryOptions.RepositoryDirectory"/>, a new
/// model directory there is loaded too, and announced with <see cref="StageAdded"/> once a version of it serves.
/// </summary>
public sealed class ModelRepository : IStageDirectory, IDisposable
{
    public const string ModelFileName = "model.onnx";
    public const string LabelsFileName = "labels.txt";

    private readonly List<ModelSource> _sources;
    private readonly ModelRepositoryOptions _options;
    private readonly Func<ModelVersionInfo, IInferenceStage, ICollection<IDisposable>, IInferenceStage>? _decorate;
    private readonly Dictionary<string, VersionedModel> _models = new(StringComparer.Ordinal);
    private readonly Lock _rescan = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<FileSystemWatcher> _watchers = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ILogger _logger;
    private Task? _loop;
    private IReadOnlyList<VersionedModel> _ordered = [];

    /// <summary>Loads every model's versions now; throws when a model has no version that loads.</summary>
    /// <param name="decorate">
    /// Wraps each loaded version (batching, labels, a response cache); gets what was loaded, and a list where it
    /// puts what must be disposed with the version (before its session). An exception other than a load failure
    /// (e.g. a flag error) propagates.
    /// </param>
    public ModelRepository(IReadOnlyList<ModelSource> sources, ModelRepositoryOptions options, Func<ModelVersionInfo, IInferenceStage, ICollection<IDisposable>, IInferenceStage>? decorate = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(options);
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(options, new(options), validateAllProperties: true);
        if (sources.Count == 0)
        {
            throw new ArgumentException("no model to serve", nameof(sources));
        }

        _sources = [.. sources];
        _options = options;
        _decorate = decorate;
        _logger = logger ?? NullLogger.Instance;
        foreach (var source in sources)
        {
            if (_models.ContainsKey(source.Name))
            {
                throw new ArgumentException($"two models are named '{source.Name}'", nameof(sources));
            }

            _models.Add(source.Name, new VersionedModel(source.Name));
        }

        _ordered = [.. _sources.Select(s => _models[s.Name])];

        var failures = Rescan();
        foreach (var model in _models.Values.Where(m => m.Slots.Count == 0))
        {
            Dispose();
            var why = failures.TryGetValue(model.Name, out var error) ? error : "no version found (expected VERSION/model.onnx)";
            throw new InvalidDataException($"model '{model.Name}': {why}");
        }
    }

    /// <summary>The models in the order they were given, then those found in the repository directory while serving.</summary>
    public IReadOnlyList<VersionedModel> Models => Volatile.Read(ref _ordered);

    /// <summary>Raised for each model directory found in <see cref="ModelRepositoryOptions.RepositoryDirectory"/> while serving, once a version of it is loaded.</summary>
    public event EventHandler<StageAddedEventArgs>? StageAdded;

    IReadOnlyList<KeyValuePair<string, IInferenceStage>> IStageDirectory.Stages
        => [.. Models.Select(m => KeyValuePair.Create(m.Name, (IInferenceStage)m))];

    /// <summary>Starts noticing changes on disk (file notifications, and a poll every <see cref="ModelRepositoryOptions.PollInterval"/>).</summary>
    public void StartWatching(TimeProvider time, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (logger is not null) _logger = logger;
        if (_loop is not null || !_options.Watch) return;
        var root = _options.RepositoryDirectory is { } r ? Path.GetFullPath(r) : null;
        // The repository directory is watched whole (new model directories too); the models in it need no watcher of their own.
        var watched = _sources
            .Where(s => root is null || !Path.GetFullPath(s.Path).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Select(s => (Directory: Directory.Exists(s.Path) ? s.Path : Path.GetDirectoryName(Path.GetFullPath(s.Path))!, Subdirectories: Directory.Exists(s.Path)))
            .ToList();
        if (root is not null) watched.Add((root, true));
        foreach (var (directory, subdirectories) in watched)
        {
            try
            {
                var watcher = new FileSystemWatcher(directory)
                {
                    IncludeSubdirectories = subdirectories,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                };
                watcher.Changed += OnChanged;
                watcher.Created += OnChanged;
                watcher.Deleted += OnChanged;
                watcher.Renamed += OnChanged;
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                Log.WatchUnavailable(_logger, directory, ex.Message, _options.PollInterval.TotalSeconds);
            }
        }

        _loop = Task.Run(() => WatchLoopAsync(time, _stop.Token));
    }

    /// <summary>Checks the disk now and loads, swaps or unloads what changed; returns why models failed to load, by name.</summary>
    public IReadOnlyDictionary<string, string> Rescan()
    {
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        List<VersionedModel>? added = null;
        lock (_rescan)
        {
            foreach (var source in _sources)
            {
                if (_stop.IsCancellationRequested) break;
                RescanModel(source, _models[source.Name], failures);
            }

            if (_options.RepositoryDirectory is { } root && !_stop.IsCancellationRequested)
            {
                added = FindNewModels(root, failures);
            }
        }

        foreach (var model in added ?? [])
        {
            // Outside the lock: a host adding the model to its routes never waits for a load.
            StageAdded?.Invoke(this, new StageAddedEventArgs(model.Name, model));
        }

        return failures;
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        try
        {
            _loop?.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // The loop ends by cancellation.
        }

        lock (_rescan)
        {
            foreach (var model in _models.Values)
            {
                model.DisposeVersions();
            }
        }
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => Volatile.Read(ref _changed).TrySetResult();

    private async Task WatchLoopAsync(TimeProvider time, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var changed = Volatile.Read(ref _changed).Task;
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(stop);
                var delay = Task.Delay(_options.PollInterval, time, poll.Token);
                if (await Task.WhenAny(changed, delay).ConfigureAwait(false) == changed)
                {
                    await poll.CancelAsync().ConfigureAwait(false);
                    Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                    // Let a file being copied settle; notifications during the wait are covered by this rescan.
                    await Task.Delay(_options.SettleDelay, time, stop).ConfigureAwait(false);
                }

                Rescan();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.RescanFailed(_logger, ex);
            }
        }
    }

    /// <summary>
    /// Loads the model directories of the repository that are not served yet; one is added once a version of it has
    /// loaded (a directory still empty is looked at again at the next rescan; a broken file is not tried again until it changes).
    /// </summary>
    private List<VersionedModel>? FindNewModels(string root, Dictionary<string, string> failures)
    {
        List<string> directories;
        try
        {
            directories = [.. Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The repository directory itself is gone or unreadable: the models served stay; nothing new is found.
            return null;
        }

        List<VersionedModel>? added = null;
        foreach (var directory in directories)
        {
            var name = Path.GetFileName(directory);
            if (_models.ContainsKey(name) || _stop.IsCancellationRequested)
            {
                continue;
            }

            var source = new ModelSource(name, directory);
            var model = new VersionedModel(name);
            RescanModel(source, model, failures);
            if (model.Slots.Count == 0)
            {
                continue;
            }

            _models.Add(name, model);
            _sources.Add(source);
            (added ??= []).Add(model);
            var versions = string.Join(", ", model.Versions);
            Log.ModelAdded(_logger, name, directory, versions);
        }

        if (added is not null)
        {
            Volatile.Write(ref _ordered, [.. _sources.Select(s => _models[s.Name])]);
        }

        return added;
    }

    private void RescanModel(ModelSource source, VersionedModel model, Dictionary<string, string> failures)
    {
        var onDisk = VersionsOnDisk(source);
        var slots = new SortedDictionary<long, VersionedModel.VersionSlot>(model.Slots.ToDictionary());
        var changed = false;
        foreach (var (number, (modelPath, labelsPath)) in onDisk)
        {
            var stamp = FileStamp.Of(modelPath, labelsPath);
            slots.TryGetValue(number, out var slot);
            if (slot is not null ? slot.Loaded == stamp || slot.Refused == stamp : _refused.GetValueOrDefault((source.Name, number)) == stamp)
            {
                continue;
            }

            var version = number.ToString(CultureInfo.InvariantCulture);
            var loaded = TryLoad(source.Name, version, modelPath, labelsPath, slot?.ContentHash, out var error, out var reason);
            if (loaded is null && error is null)
            {
                // Touched, not changed: the same bytes are loaded already.
                slot!.Loaded = stamp;
                continue;
            }

            if (loaded is null)
            {
                // Remembered by its stamp, so the same broken file is not tried again at every poll.
                failures[source.Name] = $"version {version}: {error}";
                ModelReloadTelemetry.Record(source.Name, version, "failed", reason);
                Log.VersionRefused(_logger, source.Name, version, modelPath, reason!, error!);
                if (slot is not null) slot.Refused = stamp;
                else _refused[(source.Name, number)] = stamp;
                continue;
            }

            var (shared, hash) = loaded.Value;
            var isNew = slot is null;
            if (slot is null)
            {
                slot = new VersionedModel.VersionSlot(number, new SwappableStage(shared));
                slots[number] = slot;
                _refused.Remove((source.Name, number));
                changed = true;
            }
            else
            {
                slot.Stage.Swap(shared);
            }

            // The slot's stage holds its own reference now.
            shared.Release();
            slot.Loaded = stamp;
            slot.Refused = default;
            slot.ContentHash = hash;
            ModelReloadTelemetry.Record(source.Name, version, "loaded");
            Log.VersionLoaded(_logger, source.Name, version, modelPath, isNew ? "new version" : "swapped in");
        }

        var removed = slots.Values.Where(v => !onDisk.ContainsKey(v.Number)).ToList();
        foreach (var gone in removed)
        {
            slots.Remove(gone.Number);
            changed = true;
        }

        if (changed)
        {
            model.Publish(slots);
        }

        foreach (var gone in removed)
        {
            // Published without it: no request finds it now; those running finish before its session goes.
            var version = gone.Number.ToString(CultureInfo.InvariantCulture);
            gone.Stage.Dispose();
            ModelReloadTelemetry.Record(source.Name, version, "unloaded");
            Log.VersionUnloaded(_logger, source.Name, version);
        }
    }

    private readonly Dictionary<(string Model, long Version), FileStamp> _refused = [];

    /// <summary>Loads one version; null with no error when the file's bytes are those loaded already.</summary>
    private (SharedStage Stage, string Hash)? TryLoad(string name, string version, string modelPath, string? labelsPath, string? loadedHash, out string? error, out string? reason)
    {
        error = null;
        reason = null;
        string hash;
        try
        {
            hash = HashFile(modelPath, labelsPath);
        }
        catch (IOException ex)
        {
            (error, reason) = (ex.Message, "io");
            return null;
        }

        if (hash == loadedHash)
        {
            return null;
        }

        OnnxModelStage? session = null;
        var owned = new List<IDisposable>();
        try
        {
            var s = _options.Session;
            session = new OnnxModelStage(new OnnxModelOptions
            {
                ModelPath = modelPath,
                Name = name,
                Version = version,
                EngineCount = s.EngineCount,
                IntraOpThreads = s.IntraOpThreads,
                IntraOpSpinning = s.IntraOpSpinning,
                SplitFixedBatch = s.SplitFixedBatch,
                OptimizeGraph = s.OptimizeGraph,
                ExecutionProvider = s.ExecutionProvider,
                DeviceId = s.DeviceId,
                Cpus = s.Cpus,
            });
            // The first run of a session is its slowest (arenas, kernels): paid here, not by the first request after the swap.
            WarmUp(session);
            var info = new ModelVersionInfo(name, version, modelPath, labelsPath, hash);
            var served = _decorate is null ? session : _decorate(info, session, owned);
            owned.Add(session);
            return (new SharedStage(served, new DisposeInOrder(owned)), hash);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException or System.ComponentModel.DataAnnotations.ValidationException)
        {
            new DisposeInOrder(owned).Dispose();
            session?.Dispose();
            error = ex.Message;
            reason = ex switch
            {
                InvalidDataException => "invalid_model",
                ArgumentException => "labels",
                _ => "io",
            };
            return null;
        }
        catch
        {
            // Not a load failure (a flag error, a missing execution provider): the caller reports it.
            new DisposeInOrder(owned).Dispose();
            session?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the new session once on zeros (free dimensions as 1) before it is published. A model that takes no
    /// such input (strings, or sizes it rejects) is served unwarmed: its first request pays the first run.
    /// </summary>
    internal static void WarmUp(IInferenceStage stage)
    {
        var inputs = stage.Metadata.Inputs;
        var tensors = new Tensor[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var size = inputs[i].Type.ElementSize();
            if (size == 0 || inputs[i].Shape.IsDefault)
            {
                return;
            }

            var shape = inputs[i].Shape.Select(d => d < 0 ? 1L : d).ToArray();
            var bytes = shape.Aggregate((long)size, (a, d) => a * d);
            if (bytes > int.MaxValue)
            {
                return;
            }

            tensors[i] = Tensor.FromBytes(inputs[i].Type, shape, new byte[bytes]);
        }

        var request = new StageRequest([.. inputs.Select(m => m.Name)], tensors, [.. stage.Metadata.Outputs.Select(m => m.Name)], string.Empty);
        using var result = stage.InferAsync(request, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>What a loaded version owns, disposed in the order it was added (decorators, then the session).</summary>
    private sealed class DisposeInOrder(List<IDisposable> owned) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in owned) item.Dispose();
            owned.Clear();
        }
    }

    private static string HashFile(string modelPath, string? labelsPath)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var stream = File.OpenRead(modelPath))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        if (labelsPath is not null && File.Exists(labelsPath))
        {
            hash.AppendData(File.ReadAllBytes(labelsPath));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The versions on disk now: a single file is version 1; a directory holds <c>VERSION/model.onnx</c>.</summary>
    private static SortedDictionary<long, (string Model, string? Labels)> VersionsOnDisk(ModelSource source)
    {
        var versions = new SortedDictionary<long, (string, string?)>();
        if (File.Exists(source.Path))
        {
            versions[1] = (source.Path, source.LabelsPath);
            return versions;
        }

        if (!Directory.Exists(source.Path))
        {
            return versions;
        }

        var modelLabels = Path.Combine(source.Path, LabelsFileName);
        foreach (var directory in Directory.EnumerateDirectories(source.Path))
        {
            if (!long.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number <= 0)
            {
                continue;
            }

            var modelPath = Path.Combine(directory, ModelFileName);
            if (!File.Exists(modelPath))
            {
                continue;
            }

            var labels = Path.Combine(directory, LabelsFileName);
            versions[number] = (modelPath, File.Exists(labels) ? labels : File.Exists(modelLabels) ? modelLabels : source.LabelsPath);
        }

        return versions;
    }
}
