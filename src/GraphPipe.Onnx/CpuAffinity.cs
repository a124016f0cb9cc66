using System.Globalization;
using System.Runtime.InteropServices;

namespace GraphPipe.Onnx;

/// <summary>
/// Linux CPU affinity for the model's threads (<see cref="OnnxModelOptions.Cpus"/>): <c>sched_getaffinity</c> /
/// <c>sched_setaffinity</c> on the calling thread, and ONNX Runtime's own setting for its intra-op threads.
/// </summary>
internal static partial class CpuAffinity
{
    private const int MaxCpus = CpuList.MaxCpus;

    /// <summary>
    /// The CPUs the model may be pinned to: those of the process's container (cgroup v2 <c>cpuset.cpus.effective</c>),
    /// else those online, else those the calling thread may run on. Not only the thread's own mask: <c>taskset -c 0 graphpipe serve onnx
    /// --model-cpus 1</c> keeps the server on CPU 0 and gives the model CPU 1.
    /// </summary>
    public static int[] Allowed()
    {
        try
        {
            // The container's CPUs, else (no cpuset controller) every CPU online.
            foreach (var path in (string[])["/sys/fs/cgroup/cpuset.cpus.effective", "/sys/devices/system/cpu/online"])
            {
                if (File.Exists(path) && CpuList.TryParse(File.ReadAllText(path), out var cpus) && cpus.Length > 0)
                {
                    return cpus;
                }
            }
        }
        catch (IOException)
        {
            // Not readable here: the thread's mask below.
        }
        catch (UnauthorizedAccessException)
        {
            // Not readable here: the thread's mask below.
        }

        return ThreadMask();
    }

    private static int[] ThreadMask()
    {
        var mask = new ulong[MaxCpus / 64];
        if (SchedGetAffinity(0, mask.Length * sizeof(ulong), mask) != 0)
        {
            throw new InvalidOperationException($"sched_getaffinity failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return [.. Enumerable.Range(0, MaxCpus).Where(cpu => (mask[cpu / 64] & (1UL << (cpu % 64))) != 0)];
    }

    /// <summary>Why <paramref name="cpus"/> cannot be used by this process, or null when they can.</summary>
    public static string? Check(IReadOnlyCollection<int> cpus)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "pinning the model to CPUs needs Linux (sched_setaffinity)";
        }

        var allowed = Allowed();
        var outside = cpus.Where(c => Array.BinarySearch(allowed, c) < 0).ToArray();
        return outside.Length == 0 ? null
            : $"CPU {string.Join(", ", outside)} is not one this process may run on (allowed: {CpuList.Format(allowed)})";
    }

    /// <summary>Pins the calling thread to <paramref name="cpus"/>; the errno on failure, 0 on success.</summary>
    public static int PinCurrentThread(IReadOnlyCollection<int> cpus)
    {
        var mask = new ulong[MaxCpus / 64];
        foreach (var cpu in cpus)
        {
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }

        return SchedSetAffinity(0, mask.Length * sizeof(ulong), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// ONNX Runtime's <c>session.intra_op_thread_affinities</c> for <paramref name="threads"/> intra-op threads: one
    /// entry per thread it starts (the caller's thread is the first of the <paramref name="threads"/> and is pinned
    /// by us), each the whole set; its processor ids count from 1.
    /// </summary>
    public static string OrtIntraOpAffinities(IReadOnlyCollection<int> cpus, int threads)
    {
        var set = string.Join(',', cpus.Select(c => (c + 1).ToString(CultureInfo.InvariantCulture)));
        return string.Join(';', Enumerable.Repeat(set, threads - 1));
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint cpuSetSize, [In] ulong[] mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nint cpuSetSize, [Out] ulong[] mask);
}
