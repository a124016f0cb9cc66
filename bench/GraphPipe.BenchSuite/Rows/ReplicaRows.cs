using System.Globalization;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Onnx;
using GraphPipe.Server;
using GraphPipe.Stages;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Replicas and retries (docs/load-balancing.md). Throughput at concurrency 8 of the model served by three
/// replicas behind the client-side balancer (power of two choices) vs one replica; each replica is its own
/// host with one session of one intra-op thread, so on a machine with few cores expect little gain. And the
/// price of one retry: the latency of a request whose first attempt goes to a replica that refuses the
/// connection and is retried on a good one, vs a request sent straight to the good one (identity stage).
/// </summary>
internal sealed class ReplicaRows : IBenchRow
{
    private const string Group = "replicas";
    private const int Concurrency = 8;
    private const int ReplicaCount = 3;

    public string Id => Group;

    public string Title => "replicas: client-side balancing over 3 replicas vs 1; one retry vs none";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var rows = new List<RowResult>();
        var throughputName = $"throughput c={Concurrency}: {ReplicaCount} replicas (P2C) vs 1 replica";
        if (context.ModelPath is not { } path || !File.Exists(path))
        {
            rows.Add(RowResult.Skip(Group, throughputName, RowTarget.None, context.ModelPath is null ? context.ModelMissingReason : $"model file '{context.ModelPath}' does not exist"));
        }
        else
        {
            rows.Add(await ThroughputAsync(context, path, throughputName, cancellationToken).ConfigureAwait(false));
        }

        rows.Add(await RetryCostAsync(context, cancellationToken).ConfigureAwait(false));
        return rows;
    }

    private static async Task<RowResult> ThroughputAsync(SuiteContext context, string path, string name, CancellationToken cancellationToken)
    {
        var stages = Enumerable.Range(0, ReplicaCount).Select(_ => new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1 })).ToArray();
        var hosts = new List<GraphPipeStageHost>();
        try
        {
            foreach (var stage in stages)
            {
                hosts.Add(await SuiteHttp.HostAsync(stage, cancellationToken).ConfigureAwait(false));
            }

            var input = stages[0].Metadata.Inputs[0];
            var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
            var request = new InferRequest
            {
                InputNames = [input.Name],
                Inputs = [Tensor.Create<float>(TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d)), shape)],
                OutputNames = [stages[0].Metadata.Outputs[0].Name],
            };
            using var group = EndpointGroup.Parse(string.Join(',', hosts.Select(h => h.Address)));
            using var balancedHttp = new HttpClient(GraphPipeBalancing.CreateHandler([group], new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }));
            var balanced = new GraphPipeClient(balancedHttp, group.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) });
            using var singleHttp = SuiteHttp.CreateClient(Concurrency, out _);
            var single = new GraphPipeClient(singleHttp, hosts[0].Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) });

            context.Progress($"replicas: {Path.GetFileName(path)}, concurrency {Concurrency}, {ReplicaCount} replicas vs 1");
            var (three, one) = await RowHelpers.AlternateAsync(context,
                async (_, ct) => { if ((await balanced.InferAsync(request, ct).ConfigureAwait(false)).Outputs.Count == 0) throw new InvalidDataException("no output"); },
                async (_, ct) => { if ((await single.InferAsync(request, ct).ConfigureAwait(false)).Outputs.Count == 0) throw new InvalidDataException("no output"); },
                Concurrency, context.ModelTime, minOperationsPerRound: 5, cancellationToken).ConfigureAwait(false);
            return RowHelpers.Throughput(Group, name, three, one, RowTarget.None,
                string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}; each replica its own host, 1 session x 1 intra-op thread; {Environment.ProcessorCount} cores: replicas on one machine share them"));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var stage in stages)
            {
                stage.Dispose();
            }
        }
    }

    private static async Task<RowResult> RetryCostAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        var stage = new IdentityStage(new IOMetadata("input", TensorType.Float32, [-1, 4]));
        await using var host = await SuiteHttp.HostAsync(stage, cancellationToken).ConfigureAwait(false);
        var refused = FreePort();
        // Every request's first attempt goes to the refusing replica (scripted draws, never ejected), the retry to the good one.
        using var group = EndpointGroup.Parse($"http://127.0.0.1:{refused}/,{host.Address}", new BalancingOptions { FailuresToEject = 1000 });
        var retry = BalancingRetry.CreateHandler(group.Options)!;
        retry.InnerHandler = new BalancingHandler([group], new PowerOfTwoChoicesPicker(static _ => 0)) { InnerHandler = new SocketsHttpHandler() };
        using var retryingHttp = new HttpClient(retry);
        var retrying = new GraphPipeClient(retryingHttp, group.Address);
        using var directHttp = SuiteHttp.CreateClient(1, out _);
        var direct = new GraphPipeClient(directHttp, host.Address);
        var request = new InferRequest { InputNames = ["input"], Inputs = [Tensor.Create<float>([1, 2, 3, 4], 1, 4)], OutputNames = [] };

        context.Progress("replicas: one retry (first attempt refused) vs direct, concurrency 1");
        var (once, straight) = await RowHelpers.AlternateAsync(context,
            async (_, ct) => await retrying.InferAsync(request, ct).ConfigureAwait(false),
            async (_, ct) => await direct.InferAsync(request, ct).ConfigureAwait(false),
            1, context.HttpTime, minOperationsPerRound: 20, cancellationToken).ConfigureAwait(false);
        return RowHelpers.Latency(Group, "latency c=1: first attempt refused, retried vs direct", once, straight, RowTarget.None,
            "identity stage, 16-byte tensor; ours = connect refused on loopback + retry on another replica (no delay before the first retry)");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
