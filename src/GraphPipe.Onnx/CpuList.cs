using System.Globalization;

namespace GraphPipe.Onnx;

/// <summary>A CPU list as <c>taskset -c</c> and Linux's cpusets write one: <c>1</c>, <c>2-3</c>, <c>0,4-5</c>.</summary>
public static class CpuList
{
    /// <summary>Linux's own maximum of CPUs in a set (<c>CPU_SETSIZE</c>).</summary>
    public const int MaxCpus = 1024;

    /// <summary>The CPUs of <paramref name="text"/>, ascending and distinct; false when it is not such a list.</summary>
    public static bool TryParse(string text, out int[] cpus)
    {
        ArgumentNullException.ThrowIfNull(text);
        var set = new SortedSet<int>();
        cpus = [];
        foreach (var part in text.Trim().Split(',', StringSplitOptions.TrimEntries))
        {
            var bounds = part.Split('-', 2);
            if (!int.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(bounds[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                || last < first || last >= MaxCpus)
            {
                return false;
            }

            for (var cpu = first; cpu <= last; cpu++) set.Add(cpu);
        }

        cpus = [.. set];
        return true;
    }

    /// <summary>Ascending CPUs as Linux writes them (<c>0-3,6</c>).</summary>
    public static string Format(IReadOnlyList<int> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? sorted[i].ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }

        return string.Join(',', parts);
    }
}
