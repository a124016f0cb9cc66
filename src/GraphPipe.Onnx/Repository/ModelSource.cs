namespace GraphPipe.Onnx.Repository;

/// <summary>
/// One model to serve: its name and where it is, either one <c>.onnx</c> file (served as version 1) or a
/// directory of versions laid out like Triton's (<c>VERSION/model.onnx</c>, an optional <c>labels.txt</c> beside it).
/// </summary>
public sealed record ModelSource(string Name, string Path, string? LabelsPath = null)
{
    /// <summary>Parses <c>NAME=PATH</c> (the <c>--model</c> flag); a bare <c>PATH</c> is named after its file.</summary>
    public static ModelSource Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        // A '=' after a '/' is part of a path, not NAME=PATH.
        var slash = text.IndexOfAny(['/', '\\']);
        if (equals < 0 || (slash >= 0 && slash < equals))
        {
            return new ModelSource(System.IO.Path.GetFileNameWithoutExtension(text.TrimEnd('/')), text);
        }

        var name = text[..equals].Trim();
        var path = text[(equals + 1)..].Trim();
        if (name.Length == 0 || path.Length == 0)
        {
            throw new FormatException($"'{text}' is not NAME=PATH");
        }

        return new ModelSource(name, path);
    }

    /// <summary>Every model directory of a repository (<c>NAME/VERSION/model.onnx</c>), by name.</summary>
    public static IReadOnlyList<ModelSource> FromRepository(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"model repository '{directory}' does not exist");
        }

        return Directory.EnumerateDirectories(directory)
            .Select(d => new ModelSource(System.IO.Path.GetFileName(d), d))
            .OrderBy(s => s.Name, StringComparer.Ordinal)
            .ToList();
    }
}

/// <summary>One loaded version of a model, as the decorators that wrap it see it.</summary>
/// <param name="ContentHash">SHA-256 of the model file (hex): what the answers depend on, beyond name and version.</param>
public sealed record ModelVersionInfo(string Name, string Version, string ModelPath, string? LabelsPath, string ContentHash);
