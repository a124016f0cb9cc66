using System.Globalization;
using System.Text;

namespace GraphPipe;

/// <summary>
/// Bounds what an error message repeats of client input (names, shapes, configs, URLs). A message is sent
/// back and logged, so echoing input whole lets a client make either as large as its request.
/// </summary>
public static class Echo
{
    /// <summary>Characters of a name or text repeated before it is cut.</summary>
    public const int MaxChars = 200;

    /// <summary>Dimensions of a shape repeated before it is cut.</summary>
    public const int MaxDims = 8;

    /// <summary>
    /// <paramref name="text"/> when at most <see cref="MaxChars"/> long; otherwise its start, "..." and its length.
    /// Control characters are shown as '?', so a name cannot forge lines in a log.
    /// </summary>
    public static string Name(string? text)
    {
        if (text is null)
        {
            return string.Empty;
        }

        var cut = text.Length > MaxChars;
        var length = cut ? MaxChars : text.Length;
        if (cut && char.IsHighSurrogate(text[length - 1]))
        {
            length--; // never split a surrogate pair
        }

        var span = text.AsSpan(0, length);
        if (!cut && !HasControl(span))
        {
            return text;
        }

        var sb = new StringBuilder(length + 32);
        foreach (var c in span)
        {
            sb.Append(char.IsControl(c) ? '?' : c);
        }

        return cut ? sb.Append(CultureInfo.InvariantCulture, $"... ({text.Length} chars)").ToString() : sb.ToString();
    }

    private static bool HasControl(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (char.IsControl(c)) return true;
        }

        return false;
    }

    /// <summary>A shape as <c>[1,3,224,224]</c>, cut after <see cref="MaxDims"/> dimensions with "..." and the rank.</summary>
    public static string Shape(ReadOnlySpan<long> shape)
    {
        if (shape.Length <= MaxDims)
        {
            return Tensor.FormatShape(shape);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Tensor.FormatShape(shape[..MaxDims])[..^1]},... (rank {shape.Length})]");
    }

    /// <summary>Names joined with ", ", at most <see cref="MaxDims"/> of them, each cut by <see cref="Name"/>.</summary>
    public static string Names(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var shown = names.Take(MaxDims).Select(Name);
        var joined = string.Join(", ", shown);
        return names.Count > MaxDims ? string.Create(CultureInfo.InvariantCulture, $"{joined}, ... ({names.Count} in all)") : joined;
    }
}
