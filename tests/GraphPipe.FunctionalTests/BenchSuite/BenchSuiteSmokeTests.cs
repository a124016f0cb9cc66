using GraphPipe.BenchSuite;

namespace GraphPipe.FunctionalTests;

/// <summary>
/// Every row of the benchmark suite runs end to end (real Kestrel, real ONNX Runtime) with a tiny time
/// budget: the figures are meaningless, but a row that breaks shows up here rather than in a benchmark run.
/// </summary>
public sealed class BenchSuiteSmokeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunAsync_AllRowsTinyBudget_EveryRowMeasured()
    {
        var context = new SuiteContext { Quick = true, TimeScale = 0.02, ModelPath = TestModels.Path("vgg_like.onnx"), IntraOpThreads = 1, EngineCount = 2 };

        var run = await SuiteCommand.RunAsync(context, SuiteRows.All(), "test", Ct).WaitAsync(TimeSpan.FromMinutes(3), Ct);

        Assert.Contains(run.Rows, r => r.Group == "protocol");
        Assert.Contains(run.Rows, r => r.Group == "server");
        Assert.Contains(run.Rows, r => r.Group == "model");
        // vgg_like takes NHWC input, so the pipeline row picks the vgg profile and placeholder labels for its 1000 classes.
        Assert.Equal(2, run.Rows.Count(r => r.Group == "preprocess"));
        Assert.Equal(15, run.Rows.Count(r => r.Group == "pipeline"));
        Assert.All(run.Rows.Where(r => r.Group == "pipeline" && r.Unit == "KB/image"), r => Assert.True(r.Ours > 0 && r.Baseline > 0, r.Name));
        Assert.Contains(run.Rows, r => r.Group == "pipeline" && r.Name.Contains("server", StringComparison.Ordinal) && r.Unit == "KB/image" && r.Ratio < 0.5);
        Assert.All(run.Rows, r =>
        {
            // The preprocess rows compare against libturbojpeg; without it they must say why they skipped.
            if (r.Group == "preprocess" && !GraphPipe.Imaging.ImagePreprocessor.UsesTurboJpeg)
            {
                Assert.Contains("libturbojpeg", r.Skipped, StringComparison.Ordinal);
                return;
            }

            Assert.Null(r.Skipped);
            Assert.False(double.IsNaN(r.Ours), $"{r.Name}: {r.Note}");
            Assert.False(double.IsNaN(r.Baseline), $"{r.Name}: {r.Note}");
            Assert.Null(r.Error);
        });
        // Every other row ran and was checked above; the two preprocess rows could not be, so the test says so.
        Assert.SkipUnless(GraphPipe.Imaging.ImagePreprocessor.UsesTurboJpeg,
            "libturbojpeg is not available: every row ran except the two preprocess rows, which compare against it (Debian libturbojpeg0; .ci/run installs it)");
    }

    [Fact]
    public async Task RunAsync_ModelMissing_ModelRowsSkippedWithReason()
    {
        var context = new SuiteContext { Quick = true, TimeScale = 0.02, ModelPath = null, ModelMissingReason = "no model here" };
        var modelRows = SuiteRows.All().Where(r => r.Id is "model" or "pipeline").ToArray();

        var run = await SuiteCommand.RunAsync(context, modelRows, "test", Ct).WaitAsync(Limits.Step, Ct);

        Assert.NotEmpty(run.Rows);
        Assert.All(run.Rows, r => Assert.Equal("no model here", r.Skipped));
        Assert.All(run.Rows, r => Assert.Null(r.Met));
    }
}
