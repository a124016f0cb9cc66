using GraphPipe.Reloading;
using GraphPipe.Stages;

namespace GraphPipe.Onnx.Repository;

/// <summary>
/// A model of a <see cref="ModelRepository"/>: each version is a <see cref="SwappableStage"/> (a replaced
/// file is swapped in place), and the model itself serves its highest version. Versions are changed by the
/// repository only, one rescan at a time; requests read an immutable snapshot.
/// </summary>
public sealed class VersionedModel : IVersionedStage
{
    private Snapshot _snapshot = Snapshot.Empty;

    internal VersionedModel(string name) => Name = name;

    public string Name { get; }

    public StageMetadata Metadata => Volatile.Read(ref _snapshot).Latest?.Stage.Metadata ?? new StageMetadata { Name = Name, Description = "no version loaded" };

    public IReadOnlyList<string> Versions => Volatile.Read(ref _snapshot).Names;

    public IInferenceStage? FindVersion(string version)
        => Volatile.Read(ref _snapshot).ByName.TryGetValue(version, out var slot) ? slot.Stage : null;

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        => Volatile.Read(ref _snapshot).Latest is { } latest
            ? latest.Stage.InferAsync(request, cancellationToken)
            : ValueTask.FromResult(StageResult.Failure(StageErrorKind.Unavailable, $"model '{Name}' has no version loaded"));

    internal IReadOnlyDictionary<long, VersionSlot> Slots => Volatile.Read(ref _snapshot).ByNumber;

    /// <summary>Publishes a new set of versions (the caller disposes the slots it dropped).</summary>
    internal void Publish(SortedDictionary<long, VersionSlot> slots) => Volatile.Write(ref _snapshot, new Snapshot(slots));

    internal void DisposeVersions()
    {
        var slots = Volatile.Read(ref _snapshot).ByNumber.Values;
        Volatile.Write(ref _snapshot, Snapshot.Empty);
        foreach (var slot in slots)
        {
            slot.Stage.Dispose();
        }
    }

    /// <summary>One version: the stage serving it and what its files looked like when it was (or failed to be) loaded.</summary>
    internal sealed class VersionSlot(long number, SwappableStage stage)
    {
        public long Number { get; } = number;

        public SwappableStage Stage { get; } = stage;

        public FileStamp Loaded { get; set; }

        public string ContentHash { get; set; } = string.Empty;

        public FileStamp Refused { get; set; }
    }

    private sealed class Snapshot
    {
        public static readonly Snapshot Empty = new(new SortedDictionary<long, VersionSlot>());

        public Snapshot(SortedDictionary<long, VersionSlot> slots)
        {
            ByNumber = new SortedDictionary<long, VersionSlot>(slots);
            ByName = slots.ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value, StringComparer.Ordinal);
            Names = [.. ByName.Keys];
            Latest = slots.Count > 0 ? slots.Values.Last() : null;
        }

        public SortedDictionary<long, VersionSlot> ByNumber { get; }

        public Dictionary<string, VersionSlot> ByName { get; }

        public string[] Names { get; }

        public VersionSlot? Latest { get; }
    }
}

/// <summary>What a model's files looked like: enough to notice a replaced or rewritten file without reading it.</summary>
internal readonly record struct FileStamp(long ModelLength, DateTime ModelWritten, long LabelsLength, DateTime LabelsWritten)
{
    public static FileStamp Of(string modelPath, string? labelsPath)
    {
        var model = new FileInfo(modelPath);
        var labels = labelsPath is null ? null : new FileInfo(labelsPath);
        return new FileStamp(model.Exists ? model.Length : -1, model.Exists ? model.LastWriteTimeUtc : default,
            labels is { Exists: true } ? labels.Length : -1, labels is { Exists: true } ? labels.LastWriteTimeUtc : default);
    }
}
