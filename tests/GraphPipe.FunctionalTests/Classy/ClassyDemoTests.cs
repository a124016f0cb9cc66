using System.Text.Json;
using GraphPipe.Imaging;
using GraphPipe.Models;
using GraphPipe.Onnx;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// <c>classy demo</c> as a user runs it (a child process), on the bundled demo model: every sample image
/// gets a class in every sequencing mode, the modes agree, and they agree with the model called
/// in-process on the same preprocessing.
/// </summary>
public sealed class ClassyDemoTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string SamplesDirectory => Path.Combine(AppContext.BaseDirectory, "images", "fashion");

    [Fact]
    public async Task Demo_Json_ClassifiesEverySampleInEveryModeLikeTheModelInProcess()
    {
        var samples = Directory.GetFiles(SamplesDirectory, "*.png").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(samples);

        var run = await RunClassyAsync("demo", "--json", "--images", SamplesDirectory, "--batch", "4");

        Assert.True(run.ExitCode == 0, run.Describe());
        using var json = JsonDocument.Parse(run.Stdout);
        var root = json.RootElement;
        Assert.True(root.GetProperty("modesAgree").GetBoolean());
        var modes = root.GetProperty("modes").EnumerateArray().ToArray();
        Assert.Equal(["client", "server", "hybrid", "in-process"], modes.Select(m => m.GetProperty("mode").GetString()));
        var expectedLabels = await ClassifyInProcessAsync(samples);
        foreach (var mode in modes)
        {
            var results = mode.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(samples.Length, results.Length);
            for (var i = 0; i < samples.Length; i++)
            {
                Assert.True(results[i].GetProperty("error").ValueKind == JsonValueKind.Null, results[i].ToString());
                Assert.Equal(expectedLabels[i], results[i].GetProperty("label").GetString());
            }
        }

        // The samples are real Fashion-MNIST test images; the demo head is a real classifier.
        var correct = modes[0].GetProperty("correct").GetInt32();
        Assert.True(correct >= samples.Length * 7 / 10, $"only {correct} of {samples.Length} samples classified correctly");
    }

    [Fact]
    public async Task Demo_MissingImagesDirectory_ExitsTwoNamingIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"classy-{Guid.NewGuid():N}");

        var (exitCode, _, stderr) = await RunClassyAsync("demo", "--images", missing);

        Assert.Equal(2, exitCode);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hybrid", new[] { global::Classy.Sequencing.Hybrid })]
    [InlineData(" Server , client,server", new[] { global::Classy.Sequencing.Server, global::Classy.Sequencing.Client })]
    [InlineData("client,server,hybrid", new[] { global::Classy.Sequencing.Client, global::Classy.Sequencing.Server, global::Classy.Sequencing.Hybrid })]
    public void ParseModes_Names_ModesInTheOrderGivenWithoutRepeats(string text, global::Classy.Sequencing[] expected)
        => Assert.Equal(expected, global::Classy.DemoCommand.ParseModes(text));

    [Theory]
    [InlineData("")]
    [InlineData("hybrid,teleport")]
    [InlineData("7")]
    public void ParseModes_UnknownOrNone_Null(string text) => Assert.Null(global::Classy.DemoCommand.ParseModes(text));

    private static async Task<string[]> ClassifyInProcessAsync(string[] files)
    {
        var demo = await Models.DemoModel.EnsureAsync(cancellationToken: Ct);
        using var onnx = new OnnxModelStage(new OnnxModelOptions { ModelPath = demo.ModelPath });
        var model = new TopKLabelsStage(onnx, TopKLabelsStage.ReadLabelsFile(demo.LabelsPath), 1);
        var profile = PreprocessProfile.Get("resnet18");
        var perImage = profile.Width * profile.Height * 3;
        var labels = new string[files.Length];
        for (var i = 0; i < files.Length; i++)
        {
            var pixels = new float[perImage];
            ImagePreprocessor.Preprocess(await File.ReadAllBytesAsync(files[i], Ct), profile, pixels);
            var input = Tensor.Create<float>(pixels, 1, 3, profile.Height, profile.Width);
            using var result = await model.InferAsync(new StageRequest([onnx.Metadata.Inputs[0].Name], [input], [TopKLabelsStage.LabelsOutput], string.Empty), Ct);
            Assert.True(result.IsSuccess, result.Error?.Message);
            labels[i] = result.Outputs[0].ToStringArray()[0];
        }

        return labels;
    }

    private static Task<CliResult> RunClassyAsync(params string[] args)
        => CliProcess.RunAsync(CliProcess.ClassyDll, args, new Dictionary<string, string> { ["NO_COLOR"] = "1" }, TimeSpan.FromMinutes(4));
}
