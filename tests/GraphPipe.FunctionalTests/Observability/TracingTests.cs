using System.Diagnostics;
using System.Net;
using GraphPipe.Download;
using GraphPipe.FunctionalTests.Download;
using GraphPipe.Imaging;
using GraphPipe.Pipelines;
using GraphPipe.Server;
using GraphPipe.Stages;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace GraphPipe.FunctionalTests.Observability;

/// <summary>One hybrid Classy-shaped request (URL -> downloader -> preprocessor -> model) is one trace across three hosts.</summary>
public sealed class TracingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HybridRequest_ThreeStagesOnThreeHosts_OneTraceWithSpansOfEveryStage()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("GraphPipe.Server", ForwardingTelemetry.SourceName, "Microsoft.AspNetCore", "System.Net.Http", "test")
            .AddInMemoryExporter(spans)
            .Build();
        using var source = new ActivitySource("test");
        await using var origin = await ImageServer.StartAsync();
        using var downloaderStage = new DownloaderStage(ImageServer.LocalOptions());
        var model = new DelegateStage("model", (request, _) => ValueTask.FromResult(StageResult.Success([Tensor.Create<float>([request.Inputs[0].Shape[0]], 1)])));
        var hybrid = new ForwardingOptions { ConfigPolicy = NetworkPolicy.AllowAll };
        await using var modelHost = await GraphPipeStageHost.StartAsync(s => s.AddStage("model", model), cancellationToken: Ct);
        await using var preHost = await GraphPipeStageHost.StartAsync(s => s.AddForwardingStage("preprocess", new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = PreprocessProfile.Get("resnet18") }), hybrid), cancellationToken: Ct);
        await using var downloadHost = await GraphPipeStageHost.StartAsync(s => s.AddForwardingStage("download", downloaderStage, hybrid), cancellationToken: Ct);
        using var http = new HttpClient();

        ActivityTraceId traceId;
        RawResponse response;
        using (var root = source.StartActivity("classy-request", ActivityKind.Client)!)
        {
            traceId = root.TraceId;
            var body = RawHttp.Encode(new InferRequest { Config = $"{preHost.Address} {modelHost.Address}", Inputs = [Tensor.FromStrings(origin.Url("ok.png"))] });
            response = await RawHttp.PostAsync(http, downloadHost.Address, body, Ct).WaitAsync(Limits.Step, Ct);
        }

        tracing.ForceFlush();
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Activity[] trace;
        lock (spans)
        {
            trace = spans.Where(s => s.TraceId == traceId).ToArray();
        }

        var stages = trace.Select(s => s.GetTagItem("graphpipe.stage") as string).Where(s => s is not null).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["download", "model", "preprocess"], stages);
        Assert.Equal(2, trace.Count(s => s.OperationName == "forward"));
        Assert.Equal(3, trace.Count(s => s.OperationName == "run"));
        Assert.Equal(3, trace.Count(s => s.OperationName == "decode"));
        // Every span hangs off the client's root: a parent chain, not three separate traces.
        Assert.All(trace.Where(s => s.OperationName != "classy-request"), s => Assert.NotEqual(default, s.ParentSpanId));
    }
}
