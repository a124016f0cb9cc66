using GraphPipe.Server.Serving;

namespace GraphPipe.Server.OpenInference;

/// <summary>OIP models are the host's stages, by name; each has one version (its metadata's, or "1").</summary>
internal static class ModelLookup
{
    public const string Platform = "graphpipe";

    public static string VersionOf(ServedStage stage) => stage.Stage.Metadata.Version is { Length: > 0 } v ? v : "1";

    /// <summary>The stage serving <paramref name="name"/> (and <paramref name="version"/> when given), or null and why not.</summary>
    public static ServedStage? Find(StageCatalog catalog, string? name, string? version, out string? error)
    {
        error = null;
        var stage = string.IsNullOrEmpty(name) ? null : catalog.Find(name);
        if (stage is null)
        {
            error = $"model '{Echo.Name(name)}' is not served here; models: {Echo.Names(catalog.Stages.Select(s => s.Name).ToArray())}";
            return null;
        }

        if (!string.IsNullOrEmpty(version) && version != VersionOf(stage))
        {
            error = $"[{stage.Name}] model '{stage.Name}' has no version '{Echo.Name(version)}'; versions: {VersionOf(stage)}";
            return null;
        }

        return stage;
    }

    /// <summary>The datatype a metadata entry shows; a stage input of any type (<see cref="TensorType.Null"/>) shows as empty.</summary>
    public static string Datatype(IOMetadata io) => OipDatatype(io.Type);

    private static string OipDatatype(TensorType type) => Wire.OipDatatype.Name(type);
}
