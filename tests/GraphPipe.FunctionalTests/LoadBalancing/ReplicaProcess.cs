using System.Diagnostics;
using System.Globalization;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// A <c>graphpipe serve onnx</c> child process serving add_mul.onnx (y = 2x + 1) on a fixed loopback port,
/// so that it can be killed (<c>kill -9</c>), stopped (SIGTERM, drained) and started again at the same address.
/// </summary>
internal sealed class ReplicaProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);
    private readonly string[] _extra;
    private CliProcess _child;

    private ReplicaProcess(int port, string[] extra, CliProcess child)
    {
        Port = port;
        _extra = extra;
        _child = child;
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    /// <summary>Starts <paramref name="count"/> replicas at once, each with <paramref name="extra"/> arguments.</summary>
    public static async Task<ReplicaProcess[]> StartManyAsync(int count, params string[] extra)
    {
        var started = Enumerable.Range(0, count).Select(_ => StartAsync(extra)).ToArray();
        try
        {
            return await Task.WhenAll(started);
        }
        catch
        {
            foreach (var replica in started.Where(t => t.IsCompletedSuccessfully))
            {
                await replica.Result.DisposeAsync();
            }

            throw;
        }
    }

    public static async Task<ReplicaProcess> StartAsync(params string[] extra)
    {
        var port = LoopbackPorts.Free();
        var replica = new ReplicaProcess(port, extra, Launch(port, extra));
        try
        {
            await replica.WaitServingAsync();
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>kill -9</c>: the process dies with whatever it had in flight.</summary>
    public async Task KillAsync()
    {
        _child.Process.Kill(); // SIGKILL on Unix
        await _child.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(Limits.Step, TestContext.Current.CancellationToken);
    }

    /// <summary>SIGTERM, as Kubernetes sends it: readiness fails, the drain delay passes, in-flight requests finish, the process exits 0.</summary>
    public async Task TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _child.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await _child.Process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.True(_child.Process.ExitCode == 0, $"replica on port {Port} exited with {_child.Process.ExitCode}: {_child.Stderr}");
    }

    /// <summary>Starts the replica again on the same port (after it was killed or stopped).</summary>
    public async Task RestartAsync()
    {
        _child.Dispose();
        _child = Launch(Port, _extra);
        await WaitServingAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _child.KillAsync();
        _child.Dispose();
    }

    private async Task WaitServingAsync()
    {
        var url = await _child.ServingUrl.WaitAsync(StartupTimeout, TestContext.Current.CancellationToken);
        Assert.Equal(Address, new Uri(url + "/"));
    }

    private static CliProcess Launch(int port, string[] extra)
        => CliProcess.Start(CliProcess.GraphPipeDll,
            ["serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--name", "add_mul", "--listen", $"127.0.0.1:{port}", "--intra-op-threads", "1", .. extra]);
}
