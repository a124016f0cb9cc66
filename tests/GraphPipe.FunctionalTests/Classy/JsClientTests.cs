using System.Text.Json;
using System.Text.RegularExpressions;
using Classy;
using GraphPipe.Imaging;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// The JavaScript GraphPipe client (clients/js) under Node's test runner: its golden-fixture tests
/// (the C# wire tests' fixtures) and its tests against live stages, a Classy stack started here on
/// loopback with the VGG-shaped test model. One child process; its counts are asserted here so a JS
/// failure fails this test.
/// </summary>
public sealed partial class JsClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NodeTest_ClientsJs_EveryTestPassesAgainstLiveStagesAndFixtures()
    {
        if (NodeRunner.MissingPremise() is { } missing)
        {
            Assert.Skip(missing);
        }

        var dir = Directory.CreateTempSubdirectory("classy-js-");
        try
        {
            var image = Path.Combine(AppContext.BaseDirectory, "images", "photos", "chelsea.png");
            File.Copy(image, Path.Combine(dir.FullName, "chelsea.png"));
            var labelsPath = Path.Combine(dir.FullName, "labels.txt");
            await File.WriteAllLinesAsync(labelsPath, Enumerable.Range(0, 1000).Select(j => $"class-{j}"), Ct);
            await using var stack = await ClassyStack.StartAsync(new ClassyStackOptions
            {
                ModelPath = TestModels.Path("vgg_like.onnx"),
                LabelsPath = labelsPath,
                Profile = PreprocessProfile.Get("vgg"),
            }, Ct);
            await using var web = await LocalImageServer.StartAsync(dir.FullName, cancellationToken: Ct);
            var endpoints = stack.Endpoints;
            var environment = new Dictionary<string, string>
            {
                ["GRAPHPIPE_TEST_STAGES"] = JsonSerializer.Serialize(new
                {
                    model = endpoints.Model,
                    preprocessor = endpoints.Preprocessor,
                    downloader = endpoints.Downloader,
                    chainedPreprocessor = endpoints.ChainedPreprocessor,
                    chainedDownloader = endpoints.ChainedDownloader,
                    route = new { preprocessor = endpoints.Preprocessor, model = endpoints.Model },
                }),
                ["GRAPHPIPE_TEST_IMAGE"] = image,
                ["GRAPHPIPE_TEST_IMAGE_URL"] = web.UrlOf("chelsea.png").ToString(),
                ["GRAPHPIPE_TEST_MISSING_URL"] = web.UrlOf("missing.png").ToString(),
                ["GRAPHPIPE_TEST_LABEL"] = await InProcessLabelAsync(stack, image),
                ["NO_COLOR"] = "1",
            };

            var run = await NodeRunner.RunAsync(["--test", "--test-reporter=tap", "test/"], environment, TimeSpan.FromMinutes(2), Ct);

            Assert.True(run.ExitCode == 0, run.Describe());
            var counts = TapCounts().Matches(run.Stdout).ToDictionary(m => m.Groups["name"].Value, m => int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0, counts["fail"]);
            Assert.Equal(0, counts["skipped"]);
            Assert.Equal(0, counts["cancelled"]);
            // 18 golden-fixture and vendoring tests, 8 against the live stages.
            Assert.True(counts["pass"] >= 26, run.Stdout);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The class the model stage gives the image when called in-process (same preprocessing, same session).</summary>
    private static async Task<string> InProcessLabelAsync(ClassyStack stack, string file)
    {
        var profile = PreprocessProfile.Get("vgg");
        var pixels = new float[profile.ElementsPerImage];
        ImagePreprocessor.Preprocess(await File.ReadAllBytesAsync(file, Ct), profile, pixels);
        var input = Tensor.Create<float>(pixels, [.. profile.Shape(1)]);
        using var result = await stack.Model.InferAsync(new StageRequest([stack.Model.Metadata.Inputs[0].Name], [input], [TopKLabelsStage.LabelsOutput], string.Empty), Ct);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Outputs[0].ToStringArray()[0];
    }

    [GeneratedRegex(@"^# (?<name>pass|fail|skipped|cancelled) (?<n>\d+)$", RegexOptions.Multiline)]
    private static partial Regex TapCounts();
}
