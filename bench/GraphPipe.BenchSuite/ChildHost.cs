using System.Diagnostics;
using System.Globalization;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Server;

namespace GraphPipe.BenchSuite;

/// <summary>
/// A served model in a process of its own (this executable, started with <see cref="Command"/>), so a row can
/// pin it to other CPUs than its clients. Hosts the model with dynamic batching exactly as the batching rows do
/// in process, prints its address on the first line of stdout, and exits when stdin closes.
/// </summary>
internal sealed class ChildHost : IAsyncDisposable
{
    public const string Command = "__child-host";

    private readonly Process _process;

    private ChildHost(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts a child serving <paramref name="modelPath"/> (1 session x <paramref name="threads"/> intra-op threads,
    /// batching up to <paramref name="maxBatch"/> rows), its model threads pinned to <paramref name="modelCpu"/> when
    /// given (<see cref="OnnxModelOptions.Cpus"/>, as <c>serve onnx --model-cpus</c>).
    /// </summary>
    public static async Task<ChildHost> StartAsync(string modelPath, int threads, int maxBatch, bool spinning, int? modelCpu, CancellationToken cancellationToken)
    {
        // This assembly's apphost (copied beside it into a test project's output too), not the running process,
        // which may be a test host.
        var dll = typeof(ChildHost).Assembly.Location;
        var appHost = Path.ChangeExtension(dll, OperatingSystem.IsWindows() ? ".exe" : null);
        var start = new ProcessStartInfo(File.Exists(appHost) ? appHost : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (!File.Exists(appHost))
        {
            start.ArgumentList.Add(dll);
        }

        foreach (var arg in (string[])[Command, modelPath, threads.ToString(CultureInfo.InvariantCulture), maxBatch.ToString(CultureInfo.InvariantCulture), spinning ? "1" : "0", modelCpu?.ToString(CultureInfo.InvariantCulture) ?? "-"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the child host did not start");
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
            if (!Uri.TryCreate(line, UriKind.Absolute, out var address))
            {
                throw new InvalidOperationException($"the child host said '{line}' instead of its address");
            }

            // Whatever it writes later is read and dropped, so a full pipe can never block it mid-run.
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
            return new ChildHost(process, address);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The child's side: host, print the address, wait for stdin to close.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var threads = int.Parse(args[2], CultureInfo.InvariantCulture);
        var options = new BatchingOptions { MaxBatchSize = int.Parse(args[3], CultureInfo.InvariantCulture), MaxQueueDelayMicroseconds = 500 };
        int[] cpus = args[5] == "-" ? [] : [int.Parse(args[5], CultureInfo.InvariantCulture)];
        using var onnx = new OnnxModelStage(new OnnxModelOptions { ModelPath = args[1], IntraOpThreads = threads, IntraOpSpinning = args[4] == "1", Cpus = cpus });
        await using var host = await SuiteHttp.HostAsync(s => s.AddBatchedStage("batched", onnx, options), CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine(host.Address);
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
