namespace GraphPipe.Cli;

/// <summary>A CPU list flag (<c>1</c>, <c>2-3</c>, <c>0,4-5</c>), as <c>taskset -c</c> takes one.</summary>
internal static class CpuListFlag
{
    /// <summary>The CPUs of <paramref name="text"/>, ascending; a usage error naming <paramref name="flag"/> when it is not a list.</summary>
    public static int[] Parse(string flag, string text) => Onnx.CpuList.TryParse(text, out var cpus)
        ? cpus
        : throw CliException.Usage($"{flag}: '{text}' is not a list of CPUs 0-{Onnx.CpuList.MaxCpus - 1} (e.g. 1, 2-3, 0,4-5)");
}
