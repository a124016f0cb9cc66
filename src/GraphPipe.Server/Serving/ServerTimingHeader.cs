using System.Globalization;
using System.Text;
using GraphPipe.Stages;

namespace GraphPipe.Server.Serving;

/// <summary>Formats the <c>Server-Timing</c> header (W3C Server Timing): where one request's time went, in milliseconds.</summary>
internal static class ServerTimingHeader
{
    public static string Format(TimeSpan decode, TimeSpan queue, TimeSpan run, StageTimings? timings)
    {
        var text = new StringBuilder(80);
        Append(text, "decode", decode);
        Append(text, "queue", queue);
        Append(text, "run", run);
        if (timings?.Next is { } next)
        {
            Append(text, "next", next);
        }

        if (timings?.Cache is { } cache)
        {
            Append(text, "cache", cache);
        }

        return text.ToString();
    }

    private static void Append(StringBuilder text, string name, TimeSpan duration)
    {
        if (text.Length > 0)
        {
            text.Append(", ");
        }

        text.Append(name).Append(";dur=").Append(duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture));
    }
}
