using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;

namespace GraphPipe.BenchSuite;

/// <summary>
/// Pins every thread of a process to a set of CPUs (Linux <c>sched_setaffinity</c> per thread, as
/// <c>taskset -a</c> does); threads started later inherit the mask of the thread that starts them. Lets a row
/// give a server and its load generator a core each on a machine where they would otherwise share both.
/// </summary>
internal static partial class CpuPinning
{
    /// <summary>The CPUs this process may run on now (at most the first 64).</summary>
    public static ulong Allowed
    {
        get
        {
            if (!OperatingSystem.IsLinux())
            {
                return 0;
            }

            ulong mask = 0;
            return SchedGetAffinity(0, sizeof(ulong), ref mask) == 0 ? mask : 0;
        }
    }

    /// <summary>Why pinning cannot be used here, or null where it can.</summary>
    public static string? Unavailable => !OperatingSystem.IsLinux() ? "CPU pinning needs Linux (sched_setaffinity)"
        : BitOperations.PopCount(Allowed) < 2 ? "CPU pinning needs at least 2 CPUs this process may use"
        : null;

    /// <summary>The lowest and the next allowed CPU, as one-CPU masks: the load generator's and the server's.</summary>
    public static (ulong Clients, ulong Server) TwoCores()
    {
        var allowed = Allowed;
        var first = allowed & (~allowed + 1);
        var rest = allowed & ~first;
        return (first, rest & (~rest + 1));
    }

    /// <summary>The CPU number of a one-CPU mask, for notes.</summary>
    public static int Number(ulong mask) => BitOperations.TrailingZeroCount(mask);

    /// <summary>
    /// Pins every thread of process <paramref name="pid"/> to the CPUs in <paramref name="mask"/>; with
    /// <paramref name="exceptModelThreads"/>, not the model's session threads (named <c>onnx ...</c>), which a
    /// server started with <see cref="Onnx.OnnxModelOptions.Cpus"/> has pinned elsewhere.
    /// </summary>
    public static void Pin(int pid, ulong mask, bool exceptModelThreads = false)
    {
        // Twice: a thread started while the first pass ran may have inherited the old mask.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
                if (exceptModelThreads && IsModelThread(task))
                {
                    continue;
                }

                // A thread that ended since the listing is not an error.
                if (SchedSetAffinity(tid, sizeof(ulong), ref mask) != 0 && Directory.Exists(task))
                {
                    throw new InvalidOperationException($"sched_setaffinity({tid}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
        }
    }

    private static bool IsModelThread(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).StartsWith("onnx ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // ended since the listing
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpuSetSize, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint cpuSetSize, ref ulong mask);
}
