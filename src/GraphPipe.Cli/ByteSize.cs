using System.Globalization;

namespace GraphPipe.Cli;

/// <summary>Sizes with units, as flags take them: <c>256MB</c>, <c>1GiB</c>, <c>512k</c>, or plain bytes. K, M and G are powers of 1024.</summary>
internal static class ByteSize
{
    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.Trim();
        var end = span.Length;
        while (end > 0 && char.IsLetter(span[end - 1]))
        {
            end--;
        }

        long unit = span[end..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => 0,
        };
        if (unit == 0 || !double.TryParse(span[..end].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || !double.IsFinite(amount) || amount < 0)
        {
            return false;
        }

        var total = amount * unit;
        if (total >= long.MaxValue)
        {
            return false;
        }

        bytes = (long)total;
        return true;
    }
}
