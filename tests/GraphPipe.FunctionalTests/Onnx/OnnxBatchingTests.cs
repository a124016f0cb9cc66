using System.Diagnostics.Metrics;
using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;
using GraphPipe.Server;

namespace GraphPipe.FunctionalTests;

/// <summary>Dynamic batching on the serving host, with real ONNX Runtime behind real Kestrel on loopback.</summary>
public sealed class OnnxBatchingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddBatchedStage_ConcurrentRequestsOfOneAndTwoRows_EachGetsItsOwnRowsAndEveryRowRunsOnce()
    {
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = TestModels.Path("multi_io.onnx"), IntraOpThreads = 1, Name = "multi_io_batched" });
        var recordedRows = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == BatchingTelemetry.MeterName && instrument.Name == "graphpipe.batch.size") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == BatchingTelemetry.StageTag && (string?)tag.Value == "multi_io_batched") Interlocked.Add(ref recordedRows, value);
            }
        });
        listener.Start();
        await using var host = await GraphPipeStageHost.StartAsync(
            serving => serving.AddBatchedStage("multi_io_batched", stage, new BatchingOptions { MaxBatchSize = 8, MaxQueueDelayMicroseconds = 2000 }),
            cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new GraphPipeClient(http, host.Address);

        var requests = Enumerable.Range(0, 24).Select(i => Send(client, i, rows: 1 + (i % 2))).ToArray();
        await Task.WhenAll(requests).WaitAsync(Limits.Step, Ct);

        Assert.Equal(Enumerable.Range(0, 24).Sum(i => 1 + (i % 2)), Interlocked.Read(ref recordedRows));
    }

    private static async Task Send(GraphPipeClient client, int id, int rows)
    {
        var a = Enumerable.Range(0, rows * 3).Select(j => (float)(id * 10) + j).ToArray();
        var b = Enumerable.Range(0, rows * 3).Select(j => (float)id - j).ToArray();
        var k = Enumerable.Range(0, rows).Select(j => (long)(id * 100) + j).ToArray();
        var outputs = await client.InferAsync(
            [new("a", Tensor.Create<float>(a, rows, 3)), new("b", Tensor.Create<float>(b, rows, 3)), new("k", Tensor.Create<long>(k, rows, 1))],
            ["sum", "prod", "kx2"], cancellationToken: Ct);

        Assert.Equal([(long)rows, 3], outputs[0].Shape);
        Assert.Equal(a.Zip(b, (x, y) => x + y), outputs[0].ToArray<float>());
        Assert.Equal(a.Zip(b, (x, y) => x * y), outputs[1].ToArray<float>());
        Assert.Equal(k.Select(v => v * 2), outputs[2].ToArray<long>());
    }
}
