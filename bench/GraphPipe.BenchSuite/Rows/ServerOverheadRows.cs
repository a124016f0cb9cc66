using System.Collections.Immutable;
using System.Globalization;
using GraphPipe.Client;
using GraphPipe.Wire;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 2: what the GraphPipe server adds to an HTTP round trip. A 1x3x224x224 float32 tensor goes
/// through an identity stage (GraphPipeStageHost + GraphPipeClient, i.e. request encode, server decode,
/// response encode, client decode) and, as the baseline, the same request bytes go to a bare Kestrel
/// endpoint that echoes them, with the same HttpClient.
/// </summary>
internal sealed class ServerOverheadRows : IBenchRow
{
    private const string Group = "server";
    private const int Concurrency = 4;

    public string Id => Group;

    public string Title => "server: identity stage over GraphPipe vs bare Kestrel echo";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var tensor = TestData.Image(224);
        var request = new InferRequest { InputNames = ["input"], Inputs = [tensor], OutputNames = [] };
        var body = new GraphPipeWriter().WriteInferRequest(request).ToArray();
        var stage = new IdentityStage(new IOMetadata("input", TensorType.Float32, [-1, 3, 224, 224]));
        await using var host = await SuiteHttp.HostAsync(stage, cancellationToken).ConfigureAwait(false);
        // The same body limit as the GraphPipe server's default.
        await using var echo = await SuiteHttp.StartEchoAsync(new Server.GraphPipeServerOptions().MaxRequestBytes, cancellationToken).ConfigureAwait(false);
        var echoUri = echo.Address;
        using var http = SuiteHttp.CreateClient(Concurrency, out var counter);
        var client = new GraphPipeClient(http, host.Address, new GraphPipeClientOptions { Timeout = TimeSpan.FromSeconds(30) });

        async ValueTask Ours(int worker, CancellationToken ct)
        {
            var response = await client.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs[0].Data.Length != tensor.Data.Length) throw new InvalidDataException("identity stage changed the tensor");
        }

        async ValueTask Echo(int worker, CancellationToken ct)
        {
            if (await RowHelpers.PostBytesAsync(http, echoUri, body, ct).ConfigureAwait(false) != body.Length) throw new InvalidDataException("echo changed the body");
        }

        async ValueTask RawToGraphPipe(int worker, CancellationToken ct)
            => await RowHelpers.PostBytesAsync(http, host.Address, body, ct).ConfigureAwait(false);

        context.Progress("server: concurrency 1");
        counter.Reset();
        var (ours1, echo1) = await RowHelpers.AlternateAsync(context, Ours, Echo, 1, context.HttpTime, 20, cancellationToken).ConfigureAwait(false);
        var bytesPerExchange = counter.Requests == 0 ? 0 : (counter.BytesSent + counter.BytesReceived) / (double)counter.Requests;
        var (raw1, echo1b) = await RowHelpers.AlternateAsync(context, RawToGraphPipe, Echo, 1, context.HttpTime / 2, 20, cancellationToken).ConfigureAwait(false);
        context.Progress($"server: concurrency {Concurrency}");
        var (ours4, echo4) = await RowHelpers.AlternateAsync(context, Ours, Echo, Concurrency, context.HttpTime, 20, cancellationToken).ConfigureAwait(false);
        var (raw4, echo4b) = await RowHelpers.AlternateAsync(context, RawToGraphPipe, Echo, Concurrency, context.HttpTime / 2, 20, cancellationToken).ConfigureAwait(false);

        var size = string.Create(CultureInfo.InvariantCulture, $"{body.Length:N0}-byte request, ~{bytesPerExchange / 2:N0} bytes each way");
        return
        [
            RowHelpers.Latency(Group, "round trip c=1: identity stage vs Kestrel echo", ours1, echo1, RowTarget.RatioAtMost(1.2),
                $"{size}; ours includes client encode + decode (GraphPipeClient)"),
            RowHelpers.Latency(Group, "round trip c=1: same bytes posted raw vs Kestrel echo", raw1, echo1b, RowTarget.None,
                "server side only: pre-encoded request posted to the GraphPipe server, response not parsed"),
            RowHelpers.Throughput(Group, $"throughput c={Concurrency}: identity stage vs Kestrel echo", ours4, echo4, RowTarget.RatioAtLeast(1 / 1.2),
                "closed loop; ratio = ours/baseline req/s (≥ 0.83 is the 1.2x budget)"),
            RowHelpers.Throughput(Group, $"throughput c={Concurrency}: same bytes posted raw vs Kestrel echo", raw4, echo4b, RowTarget.None,
                "server side only, as the raw c=1 row"),
        ];
    }
}
