using GraphPipe.Client;
using GraphPipe.Client.Balancing;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// Replicas as real <c>graphpipe serve</c> processes on loopback, under steady load: one killed with
/// <c>kill -9</c> (and started again), or every one restarted in turn with SIGTERM and the host's drain.
/// The client-side balancer and server sequencing over replicas lose nothing. Each test prints sent/lost.
/// </summary>
public sealed class ReplicaTests
{
    [Fact]
    public async Task ClientBalancer_OneOfThreeKilledAndRestartedUnderLoad_NoneLost()
    {
        var replicas = await ReplicaProcess.StartManyAsync(3);
        try
        {
            using var group = EndpointGroup.Parse(string.Join(',', replicas.Select(r => r.Address)), new BalancingOptions { EjectionPeriod = TimeSpan.FromMilliseconds(500) });
            using var http = new HttpClient(GraphPipeBalancing.CreateHandler([group]));
            var client = new GraphPipeClient(http, group.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(20) });

            await using var load = SteadyLoad.Start(client, x => (2 * x) + 1);
            await load.WaitForAsync(200);
            await replicas[0].KillAsync();
            await load.WaitForAsync(300);
            await replicas[0].RestartAsync();
            await WaitUntilAsync(() => group.Endpoints[0].ConsecutiveFailures == 0, $"the restarted replica got no request answered: {load.Report}");
            await load.WaitForAsync(200);
            await load.StopAsync();

            Report("client balancer, 3 replicas, kill -9 + restart", load);
            Assert.True(load.Lost == 0, load.Report);
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    [Fact]
    public async Task ServerSequencing_NextNamesTwoReplicasOneKilledUnderLoad_NoneLost()
    {
        var replicas = await ReplicaProcess.StartManyAsync(2);
        ReplicaProcess? front = null;
        try
        {
            // The front stage is add_mul too: its y goes on to a replica's x, so the answer is 2(2x + 1) + 1.
            front = await ReplicaProcess.StartAsync("--next", $"{replicas[0].Address},{replicas[1].Address}", "--eject-for", "500ms");
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, front.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(20) });

            await using var load = SteadyLoad.Start(client, x => (4 * x) + 3);
            await load.WaitForAsync(200);
            await replicas[0].KillAsync();
            await load.WaitForAsync(400);
            await load.StopAsync();

            Report("server sequencing, --next over 2 replicas, kill -9", load);
            Assert.True(load.Lost == 0, load.Report);
        }
        finally
        {
            await DisposeAllAsync([.. replicas, .. front is null ? Array.Empty<ReplicaProcess>() : [front]]);
        }
    }

    [Fact]
    public async Task ClientBalancer_RollingRestartOfEveryReplicaUnderLoad_NoneLost()
    {
        var replicas = await ReplicaProcess.StartManyAsync(3, "--drain-delay", "300ms", "--shutdown-timeout", "20s");
        try
        {
            using var group = EndpointGroup.Parse(string.Join(',', replicas.Select(r => r.Address)), new BalancingOptions { EjectionPeriod = TimeSpan.FromMilliseconds(500) });
            using var http = new HttpClient(GraphPipeBalancing.CreateHandler([group]));
            var client = new GraphPipeClient(http, group.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(20) });

            await using var load = SteadyLoad.Start(client, x => (2 * x) + 1);
            await load.WaitForAsync(200);
            for (var i = 0; i < replicas.Length; i++)
            {
                await replicas[i].TerminateAsync();
                await replicas[i].RestartAsync();
                var restarted = group.Endpoints[i];
                await WaitUntilAsync(() => restarted.ConsecutiveFailures == 0 && restarted.IsAvailable(DateTimeOffset.UtcNow), $"replica {i} not back: {load.Report}");
                await load.WaitForAsync(100);
            }

            await load.StopAsync();

            Report("client balancer, rolling restart of 3 replicas (SIGTERM, drain)", load);
            Assert.True(load.Lost == 0, load.Report);
        }
        finally
        {
            await DisposeAllAsync(replicas);
        }
    }

    internal static void Report(string test, SteadyLoad load)
    {
        var line = $"{test}: {load.Report}";
        TestContext.Current.SendDiagnosticMessage(line);
        Console.WriteLine($"replica-test: {line}");
    }

    internal static async Task DisposeAllAsync(IEnumerable<ReplicaProcess> replicas)
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string message)
    {
        var deadline = DateTime.UtcNow + Limits.Step;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, message);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
