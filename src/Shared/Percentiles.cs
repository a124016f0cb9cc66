namespace GraphPipe.Shared;

/// <summary>
/// Compiled into both <c>graphpipe bench</c> and the benchmark suite (a linked source file), so the two
/// report percentiles by one definition without the suite referencing the shipping CLI.
/// </summary>
internal static class Percentiles
{
    /// <summary>Linear interpolation between closest ranks of an ascending <paramref name="sorted"/>; 0 when empty.</summary>
    public static double Interpolated(double[] sorted, double p)
    {
        if (sorted.Length == 0) return 0;
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }
}
