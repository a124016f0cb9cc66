using System.Buffers;
using System.Net;
using System.Text.Json;
using GraphPipe.BenchSuite;

namespace GraphPipe.UnitTests;

public sealed class BenchSuiteTests
{
    [Fact]
    public void OipJson_WriteThenRead_ReturnsTheSameTensorBitForBit()
    {
        float[] values = [0f, -0f, 1f / 3, float.Epsilon, float.MaxValue, float.MinValue, 1e-38f, 123456.789f, .. TestData.Floats(1000)];
        var json = new ArrayBufferWriter<byte>();
        OipJson.WriteInferRequest(json, "input", [1, values.Length], values);

        var back = OipJson.ReadFirstInput(json.WrittenSpan);

        Assert.Equal("input", back.Name);
        Assert.Equal("FP32", back.Datatype);
        Assert.Equal([1L, values.Length], back.Shape);
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), back.Data.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void OipJson_DataBeforeShapeAndExtraFields_Parsed()
    {
        var json = """{"id":"7","inputs":[{"data":[1.5,2,3,4,5,6],"parameters":{"x":[1]},"datatype":"FP32","shape":[2,3],"name":"x"}],"outputs":[]}"""u8;

        var back = OipJson.ReadFirstInput(json);

        Assert.Equal([1.5f, 2, 3, 4, 5, 6], back.Data);
        Assert.Equal([2L, 3], back.Shape);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[1,2,3]}]}""")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[1]}]}""")]
    [InlineData("""{"outputs":[]}""")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1""")]
    public void OipJson_ReadInvalid_ThrowsInvalidData(string json)
    {
        Assert.Throws<InvalidDataException>(() => OipJson.ReadFirstInput(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("RatioAtMost", 1.2, false, 11.0, 10.0, 1.1, true)]
    [InlineData("RatioAtMost", 1.2, false, 13.0, 10.0, 1.3, false)]
    [InlineData("RatioAtLeast", 50, true, 2.0, 200.0, 100, true)]
    [InlineData("RatioAtLeast", 50, true, 5.0, 200.0, 40, false)]
    [InlineData("OursAtMost", 5, false, 4.0, 40.0, 0.1, true)]
    [InlineData("OursAtMost", 5, false, 6.0, 1.0, 6, false)]
    public void RowResultCompare_Targets_RatioAndVerdict(string kind, double value, bool speedUp, double ours, double baseline, double expectedRatio, bool expectedMet)
    {
        // Enums of the (internal) suite cannot appear in a public test signature, hence names and a flag.
        var ratioOf = speedUp ? RatioOf.BaselineOverOurs : RatioOf.OursOverBaseline;
        var row = RowResult.Compare("g", "n", ours, baseline, "ms", new RowTarget(Enum.Parse<TargetKind>(kind), value), ratioOf);

        Assert.Equal(expectedRatio, row.Ratio, 6);
        Assert.Equal(expectedMet, row.Met);
    }

    [Fact]
    public void RowResultCompare_InformationalOrUnmeasured_NoVerdict()
    {
        Assert.Null(RowResult.Compare("g", "n", 1, 2, "ms", RowTarget.None).Met);
        var unmeasured = RowResult.Compare("g", "n", 1, double.NaN, "ms", RowTarget.RatioAtMost(2));
        Assert.True(double.IsNaN(unmeasured.Ratio));
        Assert.Null(unmeasured.Met);
    }

    [Fact]
    public void SamplesMerge_TwoRounds_PercentilesOverPooledSamples()
    {
        var a = new Samples();
        var b = new Samples();
        for (var i = 1; i <= 5; i++) a.Add(i);
        for (var i = 6; i <= 10; i++) b.Add(i);
        a.AddTotals(5, 500);
        b.AddTotals(5, 1500);

        a.Merge(b);

        Assert.Equal(5.5, a.MedianNs, 6);
        Assert.Equal(9.1, a.P90Ns, 6);
        Assert.Equal(200, a.AllocatedBytesPerOp, 6);
    }

    [Fact]
    public void HarnessMeasure_AllocatingOperation_ReportsBytesPerOp()
    {
        // Stored in a captured variable: an array that does not escape may be stack-allocated by the JIT.
        byte[]? kept = null;
        var samples = Harness.Measure(() => kept = new byte[1000], TimeSpan.Zero, TimeSpan.FromMilliseconds(20), 5, TestContext.Current.CancellationToken);

        Assert.True(samples.Count >= 5);
        Assert.InRange(samples.AllocatedBytesPerOp, 1000, 1100);
        Assert.True(samples.MedianNs > 0);
        Assert.NotNull(kept);
    }

    [Fact]
    public async Task ClosedLoopRunner_SomeOperationsFail_CountsErrorsByTypeAndTimesTheRest()
    {
        var calls = 0;
        ValueTask Operation(int worker, CancellationToken ct)
            => Interlocked.Increment(ref calls) % 4 == 0 ? throw new TimeoutException() : ValueTask.CompletedTask;

        var result = await ClosedLoopRunner.RunAsync(Operation, new LoopSettings(3, TimeSpan.Zero, TimeSpan.Zero, MinOperations: 300), TestContext.Current.CancellationToken);

        Assert.Equal(3, result.Concurrency);
        Assert.True(result.Succeeded >= 300);
        Assert.True(result.Errors["TimeoutException"] > 0);
        Assert.Equal(result.Succeeded, result.Latencies.Count);
    }

    [Fact]
    public async Task ByteCountingHandler_PostAndRead_CountsBothBodies()
    {
        using var counter = new ByteCountingHandler(new FixedResponseHandler(new byte[777]));
        using var http = new HttpClient(counter);

        using var response = await http.PostAsync(new Uri("http://127.0.0.1/"), new ByteArrayContent(new byte[1234]), TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);

        Assert.Equal(777, body.Length);
        Assert.Equal(1234, counter.BytesSent);
        Assert.Equal(777, counter.BytesReceived);
        Assert.Equal(1, counter.Requests);
    }

    [Fact]
    public void SuiteReportToJson_MeasuredAndSkippedRows_PerRowFields()
    {
        var run = new SuiteRun("quick", "bench suite --quick", MachineInfo.Collect(), "0 0 0", 1,
        [
            RowResult.Compare("protocol", "encode vs memcpy", 20, 10, "µs", RowTarget.RatioAtMost(2)),
            RowResult.Skip("model", "latency", RowTarget.RatioAtMost(1.03), "no model"),
        ]);

        using var doc = JsonDocument.Parse(SuiteReport.ToJson(run));
        var rows = doc.RootElement.GetProperty("rows");

        Assert.Equal("protocol: encode vs memcpy", rows[0].GetProperty("name").GetString());
        Assert.Equal(2, rows[0].GetProperty("ratio").GetDouble());
        Assert.True(rows[0].GetProperty("met").GetBoolean());
        Assert.Equal("µs", rows[0].GetProperty("unit").GetString());
        Assert.Equal("no model", rows[1].GetProperty("skipped").GetString());
        Assert.False(rows[1].TryGetProperty("ours", out _));
        Assert.Contains("| protocol: encode vs memcpy |", SuiteReport.ToMarkdown(run), StringComparison.Ordinal);
    }

    private sealed class FixedResponseHandler(byte[] body) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // Drain the request content the way a transport would, so the counter sees it written.
            using var sink = new MemoryStream();
            await request.Content!.CopyToAsync(sink, cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(body) };
        }
    }

    [Theory]
    [InlineData(-1, 3, 224, 224, "resnet18", 224, 224)]
    [InlineData(-1, 224, 224, 3, "vgg", 224, 224)]
    [InlineData(1, 3, 160, 128, "resnet18", 128, 160)]
    public void PipelinePickProfile_ByInputLayout_ProfileAndSize(long n, long d1, long d2, long d3, string expected, int width, int height)
    {
        var input = new GraphPipe.IOMetadata("image", GraphPipe.TensorType.Float32, [n, d1, d2, d3]);

        var profile = GraphPipe.BenchSuite.Rows.PipelineRows.PickProfile(null, input);

        Assert.Equal(expected, profile.Name);
        Assert.Equal((width, height), (profile.Width, profile.Height));
    }

    [Fact]
    public void PipelinePickProfile_NamedProfile_OverridesLayout()
    {
        var input = new GraphPipe.IOMetadata("image", GraphPipe.TensorType.Float32, [-1, 3, 224, 224]);

        var profile = GraphPipe.BenchSuite.Rows.PipelineRows.PickProfile("imagenet", input);

        Assert.Equal("imagenet", profile.Name);
        Assert.Equal(GraphPipe.Imaging.ResizeMode.ShorterSideCrop, profile.Resize);
    }

    [Fact]
    public void PipelinePickProfile_NotAnImageInput_ThrowsWithHint()
    {
        var input = new GraphPipe.IOMetadata("x", GraphPipe.TensorType.Float32, [-1, 10]);

        var ex = Assert.Throws<ArgumentException>(() => GraphPipe.BenchSuite.Rows.PipelineRows.PickProfile(null, input));

        Assert.Contains("--profile", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoCores_MachineWithTwoAllowedCpus_TwoDistinctSingleCpusItMayUse()
    {
        Assert.SkipWhen(CpuPinning.Unavailable is not null, CpuPinning.Unavailable ?? string.Empty);

        var (clients, server) = CpuPinning.TwoCores();

        Assert.Equal(1, System.Numerics.BitOperations.PopCount(clients));
        Assert.Equal(1, System.Numerics.BitOperations.PopCount(server));
        Assert.NotEqual(clients, server);
        Assert.Equal(clients | server, (clients | server) & CpuPinning.Allowed);
        Assert.True(CpuPinning.Number(clients) < CpuPinning.Number(server));
    }
}
