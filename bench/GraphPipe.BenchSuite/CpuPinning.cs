using System.Globalization;
using System.Runtime.InteropServices;

namespace GraphPipe.BenchSuite;

/// <summary>
/// Pins every thread of a process to one CPU (Linux <c>sched_setaffinity</c> per thread, as <c>taskset -a</c>
/// does); threads started later inherit the mask of the thread that starts them. Lets a row give a server
/// and its load generator a core each on a machine where they would otherwise share both.
/// </summary>
internal static partial class CpuPinning
{
    /// <summary>Why pinning cannot be used here, or null where it can.</summary>
    public static string? Unavailable => !OperatingSystem.IsLinux() ? "CPU pinning needs Linux (sched_setaffinity)"
        : Environment.ProcessorCount < 2 ? "CPU pinning needs at least 2 CPUs"
        : null;

    /// <summary>Pins every thread of process <paramref name="pid"/> to the CPUs in <paramref name="cpus"/>.</summary>
    public static void Pin(int pid, params int[] cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        ulong mask = 0;
        foreach (var cpu in cpus)
        {
            mask |= 1UL << cpu;
        }

        // Twice: a thread started while the first pass ran may have inherited the old mask.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                // A thread that ended since the listing is not an error.
                if (SchedSetAffinity(tid, sizeof(ulong), ref mask) != 0 && Directory.Exists(task))
                {
                    throw new InvalidOperationException($"sched_setaffinity({tid}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
        }
    }

    /// <summary>Every CPU of this machine, to undo a pin.</summary>
    public static int[] All => [.. Enumerable.Range(0, Environment.ProcessorCount)];

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpuSetSize, ref ulong mask);
}
