using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace GraphPipe.BenchSuite;

/// <summary>Where the figures were measured: numbers mean nothing without the machine and its load.</summary>
internal sealed record MachineInfo(
    string Cpu,
    int Cores,
    string Memory,
    string Os,
    string Dotnet,
    string OnnxRuntime,
    string Gc,
    string LoadAverage,
    DateTimeOffset Date)
{
    public static MachineInfo Collect() => new(
        FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        ReadMemory(),
        OsName(),
        RuntimeInformation.FrameworkDescription,
        OrtVersion(),
        (GCSettings.IsServerGC ? "server" : "workstation") + (GCSettings.LatencyMode == GCLatencyMode.Interactive ? ", concurrent" : string.Empty),
        ReadLoadAverage(),
        DateTimeOffset.UtcNow);

    /// <summary>The 1/5/15-minute load averages; read at the start and end of a run to show how busy the machine was.</summary>
    public static string ReadLoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return parts.Length >= 3 ? $"{parts[0]} {parts[1]} {parts[2]}" : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    private static string ReadMemory()
    {
        var kb = FirstValue("/proc/meminfo", "MemTotal")?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return long.TryParse(kb, CultureInfo.InvariantCulture, out var value)
            ? string.Create(CultureInfo.InvariantCulture, $"{value / 1024.0 / 1024.0:0.0} GiB")
            : "unknown";
    }

    private static string OsName()
    {
        var pretty = FirstValue("/etc/os-release", "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        var kernel = ReadKernel();
        return kernel is null ? pretty : $"{pretty}, kernel {kernel}";
    }

    private static string? ReadKernel()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string OrtVersion()
    {
        try
        {
            return OrtEnvVersion();
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return "not loadable";
        }
    }

    private static string OrtEnvVersion() => Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();

    /// <summary>The value of the first <c>key: value</c> (or <c>key=value</c>) line of a text file, or null.</summary>
    private static string? FirstValue(string path, string key, char separator = ':')
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var at = line.IndexOf(separator, StringComparison.Ordinal);
                if (at > 0 && line.AsSpan(0, at).Trim().SequenceEqual(key))
                {
                    return line[(at + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
