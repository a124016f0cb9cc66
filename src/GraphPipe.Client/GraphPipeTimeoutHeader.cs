using System.Globalization;

namespace GraphPipe.Client;

/// <summary>
/// The <c>GraphPipe-Timeout</c> request header: the caller's remaining budget for the whole request, in
/// whole milliseconds (like gRPC's <c>grpc-timeout</c>, relative so that clocks need not agree). A server
/// works to the smaller of its own request timeout and this budget, and passes what is left on to the
/// next stage. See docs/deadlines.md.
/// </summary>
public static class GraphPipeTimeoutHeader
{
    /// <summary>The header's name.</summary>
    public const string Name = "GraphPipe-Timeout";

    /// <summary>Largest value accepted: 8 digits, as gRPC allows (about 27.8 hours).</summary>
    public const long MaxMilliseconds = 99_999_999;

    /// <summary>The header value for <paramref name="budget"/>: whole milliseconds, rounded down, clamped to 0..<see cref="MaxMilliseconds"/>.</summary>
    public static string Format(TimeSpan budget)
        => Math.Clamp((long)budget.TotalMilliseconds, 0, MaxMilliseconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>Reads a header value: 1 to 8 ASCII digits (milliseconds); false for anything else.</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan budget)
    {
        value = value.Trim();
        budget = default;
        if (value.Length is 0 or > 8)
        {
            return false;
        }

        long ms = 0;
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            ms = (ms * 10) + (c - '0');
        }

        budget = TimeSpan.FromMilliseconds(ms);
        return true;
    }
}
