using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// Replicas of a model stage behind a real nginx (Debian's, as a deployment would use): requests are
/// spread over the replicas, errors pass through with their message, and when a replica goes away
/// the balancer's retry keeps every request answered. Uses deploy/nginx/graphpipe-lb.conf's settings.
/// </summary>
public sealed class NginxLoadBalancingTests
{
    private const string NginxPath = "/usr/sbin/nginx";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Infer_ThroughNginx_SpreadsRequestsOverReplicasWithCorrectAnswers()
    {
        await using var balanced = await Balanced.StartAsync(replicas: 2);
        var (replicas, client) = (balanced.Replicas, balanced.Client);

        for (var i = 0; i < 20; i++)
        {
            var x = new float[] { i, -i, 0.5f, 2 };
            var y = await client.InferFloatsAsync(x, [1, 4], cancellationToken: Ct);
            Assert.Equal(x.Select(v => (2 * v) + 1), y);
        }

        Assert.Equal(20, replicas.Counts.Sum());
        Assert.All(replicas.Counts, count => Assert.True(count >= 5, $"replica counts {string.Join(",", replicas.Counts)}: not balanced"));
        var metadata = await client.GetMetadataAsync(Ct);
        Assert.Equal("add_mul", metadata.Name);
    }

    [Fact]
    public async Task Infer_ThroughNginx_BadShapeIs400WithTheStageMessage()
    {
        await using var balanced = await Balanced.StartAsync(replicas: 2);
        var client = balanced.Client;

        var error = await Assert.ThrowsAsync<GraphPipeException>(() => client.InferFloatsAsync([1, 2, 3], [1, 3], cancellationToken: Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Contains("input 'x'", error.RemoteMessage, StringComparison.Ordinal);
        Assert.Contains("[-1,4]", error.RemoteMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_ThroughNginx_ReplicaStopped_EveryRequestStillAnswered()
    {
        await using var balanced = await Balanced.StartAsync(replicas: 2);
        var (replicas, client) = (balanced.Replicas, balanced.Client);
        await client.InferFloatsAsync([1, 2, 3, 4], [1, 4], cancellationToken: Ct);

        await replicas.Servers[0].StopAsync(Ct);
        var before = replicas.Counts[1];
        for (var i = 0; i < 10; i++)
        {
            var y = await client.InferFloatsAsync([i, 0, 0, 0], [1, 4], cancellationToken: Ct);
            Assert.Equal(2f * i + 1, y[0]);
        }

        Assert.Equal(before + 10, replicas.Counts[1]);
    }

    [Fact]
    public async Task Infer_ThroughNginx_ReplicaProcessKilledUnderLoad_NoneLost()
    {
        Assert.SkipUnless(File.Exists(NginxPath), "nginx is not installed (.ci/run installs Debian's nginx)");
        var replicas = await ReplicaProcess.StartManyAsync(2);
        try
        {
            await using var nginx = await Nginx.StartAsync(replicas.Select(r => r.Address));
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, nginx.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(20) });

            await using var load = SteadyLoad.Start(client, x => (2 * x) + 1);
            await load.WaitForAsync(200);
            await replicas[0].KillAsync();
            await load.WaitForAsync(400);
            await load.StopAsync();

            ReplicaTests.Report("nginx, 2 replicas, kill -9", load);
            Assert.True(load.Lost == 0, load.Report);
        }
        finally
        {
            await ReplicaTests.DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public void SampleConfig_ListensOnLoopbackAndRetriesPostsOnTheNextReplica()
    {
        var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "nginx", "graphpipe-lb.conf"));

        Assert.Matches(@"(?m)^\s*listen 127\.0\.0\.1:\d+;", config);
        Assert.DoesNotMatch(@"(?m)^\s*listen 0\.0\.0\.0", config);
        Assert.Matches(@"(?m)^\s*proxy_next_upstream error timeout http_502 http_503 non_idempotent;", config);
    }

    /// <summary>Replicas of add_mul.onnx behind nginx, and a client talking to nginx; skips the test where nginx is not installed.</summary>
    private sealed class Balanced : IAsyncDisposable
    {
        private readonly Nginx _nginx;
        private readonly HttpClient _http = new() { Timeout = Limits.Step };

        private Balanced(Replicas replicas, Nginx nginx)
        {
            Replicas = replicas;
            _nginx = nginx;
            Client = new GraphPipeClient(_http, nginx.Address);
        }

        public Replicas Replicas { get; }

        public GraphPipeClient Client { get; }

        public static async Task<Balanced> StartAsync(int replicas)
        {
            Assert.SkipUnless(File.Exists(NginxPath), "nginx is not installed (.ci/run installs Debian's nginx)");
            var started = await Replicas.StartAsync(replicas);
            try
            {
                return new Balanced(started, await Nginx.StartAsync(started.Servers.Select(s => s.Address)));
            }
            catch
            {
                await started.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _nginx.DisposeAsync();
            await Replicas.DisposeAsync();
        }
    }

    /// <summary>N replicas of add_mul.onnx (y = 2x + 1), each counting the requests it served.</summary>
    private sealed class Replicas : IAsyncDisposable
    {
        private readonly CountingStage[] _stages;
        private readonly OnnxModelStage[] _models;

        private Replicas(LoopbackServer[] servers, CountingStage[] stages, OnnxModelStage[] models)
        {
            Servers = servers;
            _stages = stages;
            _models = models;
        }

        public LoopbackServer[] Servers { get; }

        public int[] Counts => _stages.Select(s => s.Count).ToArray();

        public static async Task<Replicas> StartAsync(int count)
        {
            var models = Enumerable.Range(0, count).Select(_ => new OnnxModelStage(new OnnxModelOptions { ModelPath = TestModels.Path("add_mul.onnx"), IntraOpThreads = 1, Name = "add_mul" })).ToArray();
            var stages = models.Select(m => new CountingStage(m)).ToArray();
            var servers = new LoopbackServer[count];
            for (var i = 0; i < count; i++)
            {
                servers[i] = await LoopbackServer.StartAsync(stages[i]);
            }

            return new Replicas(servers, stages, models);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var server in Servers)
            {
                await server.DisposeAsync();
            }

            foreach (var model in _models)
            {
                model.Dispose();
            }
        }
    }

    private sealed class CountingStage(IInferenceStage inner) : IInferenceStage
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public StageMetadata Metadata => inner.Metadata;

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return inner.InferAsync(request, cancellationToken);
        }
    }

    /// <summary>nginx in the foreground as this user, with its config and temp files in a temp directory.</summary>
    private sealed class Nginx : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly DirectoryInfo _dir;

        private Nginx(Process process, DirectoryInfo dir, Uri address)
        {
            _process = process;
            _dir = dir;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<Nginx> StartAsync(IEnumerable<Uri> upstreams)
        {
            var dir = Directory.CreateTempSubdirectory("graphpipe-nginx-");
            var port = LoopbackPorts.Free();
            var template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "nginx", "graphpipe-lb.conf"), Ct);
            var servers = string.Join("\n", upstreams.Select(u => $"        server {u.Host}:{u.Port};"));
            var config = template
                .Replace("# @UPSTREAM_SERVERS@", servers.TrimStart(), StringComparison.Ordinal)
                .Replace("127.0.0.1:8080", $"127.0.0.1:{port}", StringComparison.Ordinal);
            // Foreground, one process, everything under the temp dir: runs as any user.
            var full = $"daemon off;\nmaster_process off;\npid {dir.FullName}/nginx.pid;\nerror_log {dir.FullName}/error.log warn;\n"
                + config.Replace("@TEMP@", dir.FullName, StringComparison.Ordinal);
            var path = Path.Combine(dir.FullName, "nginx.conf");
            await File.WriteAllTextAsync(path, full, Ct);
            var start = new ProcessStartInfo(NginxPath) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { "-p", dir.FullName, "-c", path, "-e", $"{dir.FullName}/error.log" })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            var address = new Uri($"http://127.0.0.1:{port}/");
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    var log = File.Exists(Path.Combine(dir.FullName, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(dir.FullName, "error.log"), Ct) : string.Empty;
                    throw new InvalidOperationException($"nginx exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync(Ct)} {log}");
                }

                try
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await socket.ConnectAsync(IPAddress.Loopback, port, Ct);
                    return new Nginx(process, dir, address);
                }
                catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
                {
                    await Task.Delay(50, Ct);
                }
            }
        }


        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            _process.Dispose();
            _dir.Delete(recursive: true);
        }
    }
}
