namespace GraphPipe.Client;

/// <summary>API keys as operators keep them: a file (first non-empty line, surrounding white space ignored) or a string.</summary>
public static class ApiKeys
{
    /// <summary>The longest key accepted, in characters.</summary>
    public const int MaxLength = 512;

    /// <summary>Reads the keys of <paramref name="path"/>: one per non-empty line (several allow a rotation without downtime).</summary>
    public static IReadOnlyList<string> ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"API key file '{path}' does not exist", path);
        }

        var keys = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (keys.Length == 0)
        {
            throw new InvalidDataException($"API key file '{path}' holds no key");
        }

        foreach (var key in keys)
        {
            Check(key);
        }

        return keys;
    }

    /// <summary>The first key of <paramref name="path"/>: the one a client sends.</summary>
    public static string ReadFirst(string path) => ReadFile(path)[0];

    /// <summary>Throws unless <paramref name="key"/> can be sent in a header: printable ASCII without spaces, at most <see cref="MaxLength"/> characters.</summary>
    public static string Check(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length is 0 or > MaxLength || key.Any(c => c is <= ' ' or > '~'))
        {
            throw new InvalidDataException($"an API key must be 1-{MaxLength} printable ASCII characters without spaces");
        }

        return key;
    }

    internal static string AuthorizationValue(string key) => "Bearer " + Check(key);
}
