using Classy;
using GraphPipe.Imaging;
using GraphPipe.Stages;
using SkiaSharp;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// The Classy pipeline end to end on loopback: downloader, preprocessor and model stages on real
/// Kestrel servers, images served over HTTP by a local file server, all three sequencing modes.
/// The model is the VGG-shaped test model (NHWC 224x224x3 in, 1000-way softmax out) whose answer the
/// test computes on its own from the image colours, so the wiring is checked against arithmetic, not
/// against itself.
/// </summary>
public sealed class ClassyPipelineTests : IAsyncLifetime
{
    // Solid colours: after VGG preprocessing every pixel of an image is the same, so the model's
    // global average is the colour itself and the winning class is computable here.
    private static readonly (string Name, SKColor Color)[] Colours =
    [
        ("red", new SKColor(230, 20, 20)),
        ("green", new SKColor(20, 200, 40)),
        ("blue", new SKColor(10, 30, 240)),
        ("grey", new SKColor(128, 128, 128)),
        ("orange", new SKColor(250, 150, 0)),
    ];

    /// <summary>
    /// Ranks returned per image. The test model's scores repeat with period 85 (its weights do), so the best score is
    /// shared by 11 or 12 classes: 14 ranks reach into the second-best score and every rank is checked.
    /// </summary>
    private const int TopK = 14;

    private DirectoryInfo _dir = null!;
    private ClassyStack _stack = null!;
    private LocalImageServer _web = null!;
    private string[] _files = null!;
    private string[] _labels = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("classy-");
        _files = Colours.Select((c, i) => WriteSolidImage(Path.Combine(_dir.FullName, $"{i}-{c.Name}.png"), c.Color)).ToArray();
        _labels = Enumerable.Range(0, 1000).Select(j => $"class-{j}").ToArray();
        var labelsPath = Path.Combine(_dir.FullName, "labels.txt");
        await File.WriteAllLinesAsync(labelsPath, _labels, Ct);
        _stack = await ClassyStack.StartAsync(new ClassyStackOptions
        {
            ModelPath = TestModels.Path("vgg_like.onnx"),
            LabelsPath = labelsPath,
            Profile = PreprocessProfile.Get("vgg"),
            TopK = TopK,
        }, Ct);
        _web = await LocalImageServer.StartAsync(_dir.FullName, cancellationToken: Ct);
    }

    public async ValueTask DisposeAsync()
    {
        await _web.DisposeAsync();
        await _stack.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Theory]
    [InlineData(Sequencing.Client)]
    [InlineData(Sequencing.Server)]
    [InlineData(Sequencing.Hybrid)]
    public async Task ClassifyAsync_UrlsInEachMode_GiveTheIndependentlyComputedClasses(Sequencing mode)
    {
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = 2 };
        var urls = _files.Select(f => _web.UrlOf(f).ToString()).ToArray();

        var (results, stats) = await client.ClassifyAsync(urls, mode, cancellationToken: Ct);

        Assert.Equal(urls.Length, results.Count);
        for (var i = 0; i < urls.Length; i++)
        {
            var (label, score) = ExpectedVggLikeTop1(Colours[i].Color);
            Assert.True(results[i].Succeeded, results[i].Error);
            Assert.Equal(urls[i], results[i].Image);
            Assert.Equal(label, results[i].Label);
            Assert.Equal(score, results[i].Score, 1e-4);
            AssertTopK(Colours[i].Color, results[i].TopK);
        }

        Assert.Equal(urls.Length, stats.Images);
        Assert.True(stats.BytesSent > 0 && stats.BytesReceived > 0, $"sent {stats.BytesSent}, received {stats.BytesReceived}");
    }

    [Theory]
    [InlineData(Sequencing.Client)]
    [InlineData(Sequencing.Server)]
    [InlineData(Sequencing.Hybrid)]
    public async Task ClassifyAsync_LocalFilesInEachMode_GiveTheSameClassesAsInProcess(Sequencing mode)
    {
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = 3 };

        var (results, _) = await client.ClassifyAsync(_files, mode, cancellationToken: Ct);

        var inProcess = await ClassifyInProcessAsync(_files);
        Assert.Equal(inProcess.Select(p => p.Label), results.Select(r => r.Label));
        for (var i = 0; i < _files.Length; i++)
        {
            Assert.Equal(inProcess[i].Score, results[i].Score, 1e-5f);
            AssertTopK(Colours[i].Color, results[i].TopK);
        }
    }

    [Fact]
    public async Task ClassifyAsync_ClientSequencing_SendsTheTensorWhileServerSequencingSendsOnlyUrls()
    {
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = 1 };
        var urls = _files.Take(2).Select(f => _web.UrlOf(f).ToString()).ToArray();

        var (_, clientStats) = await client.ClassifyAsync(urls, Sequencing.Client, cancellationToken: Ct);
        var (_, serverStats) = await client.ClassifyAsync(urls, Sequencing.Server, cancellationToken: Ct);
        var (_, hybridStats) = await client.ClassifyAsync(urls, Sequencing.Hybrid, cancellationToken: Ct);

        // Client sequencing uploads each 224x224x3 float32 tensor (602,112 B) to the model itself.
        Assert.True(clientStats.BytesSent > urls.Length * 602_112L, $"client sequencing sent {clientStats.BytesSent} B");
        Assert.Equal(3 * urls.Length, clientStats.Calls);
        Assert.True(serverStats.BytesSent < 2_000 * urls.Length, $"server sequencing sent {serverStats.BytesSent} B");
        Assert.True(hybridStats.BytesSent < 2_000 * urls.Length, $"hybrid sequencing sent {hybridStats.BytesSent} B");
        Assert.Equal(urls.Length, serverStats.Calls);
        Assert.Equal(urls.Length, hybridStats.Calls);
    }

    [Theory]
    [InlineData(Sequencing.Client)]
    [InlineData(Sequencing.Server)]
    [InlineData(Sequencing.Hybrid)]
    public async Task ClassifyAsync_OneBadImageInABatch_FailsOnlyThatImageWithTheStageReason(Sequencing mode)
    {
        var bad = Path.Combine(_dir.FullName, "broken.png");
        await File.WriteAllBytesAsync(bad, "this is not an image"u8.ToArray(), Ct);
        var images = new[] { _files[0], bad, _files[1] };
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = 3 };

        var (results, _) = await client.ClassifyAsync(images, mode, cancellationToken: Ct);

        Assert.True(results[0].Succeeded, results[0].Error);
        Assert.True(results[2].Succeeded, results[2].Error);
        Assert.False(results[1].Succeeded);
        Assert.Contains("image 0", results[1].Error, StringComparison.Ordinal);
        Assert.Equal(ExpectedVggLikeTop1(Colours[0].Color).Label, results[0].Label);
    }

    [Fact]
    public async Task ClassifyAsync_UrlThatIsMissing_FailsThatImageNamingTheUrl()
    {
        var missing = new Uri(_web.Address, "no-such-image.png").ToString();
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = 2 };

        var (results, _) = await client.ClassifyAsync([_web.UrlOf(_files[0]).ToString(), missing], Sequencing.Hybrid, cancellationToken: Ct);

        Assert.True(results[0].Succeeded, results[0].Error);
        Assert.False(results[1].Succeeded);
        Assert.Contains("no-such-image.png", results[1].Error, StringComparison.Ordinal);
        Assert.Contains("404", results[1].Error, StringComparison.Ordinal);
    }

    private async Task<(string Label, float Score)[]> ClassifyInProcessAsync(string[] files)
    {
        var profile = PreprocessProfile.Get("vgg");
        var perImage = profile.Width * profile.Height * 3;
        var pixels = new float[files.Length * perImage];
        for (var i = 0; i < files.Length; i++)
        {
            ImagePreprocessor.Preprocess(await File.ReadAllBytesAsync(files[i], Ct), profile, pixels.AsSpan(i * perImage, perImage));
        }

        var input = Tensor.Create<float>(pixels, files.Length, profile.Height, profile.Width, 3);
        using var result = await _stack.Model.InferAsync(new StageRequest(["input"], [input], [TopKLabelsStage.LabelsOutput, TopKLabelsStage.ScoresOutput], string.Empty), Ct);
        Assert.True(result.IsSuccess, result.Error?.Message);
        var labels = result.Outputs[0].ToStringArray();
        var scores = result.Outputs[1].ToArray<float>();
        return Enumerable.Range(0, files.Length).Select(i => (labels[i * TopK], scores[i * TopK])).ToArray();
    }

    /// <summary>
    /// Every rank of <paramref name="topK"/> against the scores computed here: rank r has the r-th best score, and
    /// its label names a class with that score (classes of equal score may come in either order), all distinct.
    /// </summary>
    private static void AssertTopK(SKColor color, IReadOnlyList<LabelScore> topK)
    {
        var expected = ExpectedVggLikeScores(color);
        var ranked = expected.OrderByDescending(v => v).Take(TopK).ToArray();
        Assert.Equal(TopK, topK.Count);
        Assert.Equal(TopK, topK.Select(t => t.Label).Distinct().Count());
        Assert.True(ranked[0] > ranked[^1] * 1.05, "the ranks must reach past the ties of the best score");
        for (var r = 0; r < TopK; r++)
        {
            Assert.Equal(ranked[r], topK[r].Score, 1e-4);
            Assert.StartsWith("class-", topK[r].Label, StringComparison.Ordinal);
            var cls = int.Parse(topK[r].Label.AsSpan("class-".Length), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(expected[cls] - ranked[r]) < 1e-6, $"rank {r}: {topK[r].Label} has score {expected[cls]}, rank {r} is {ranked[r]}");
        }
    }

    /// <summary>The test model's softmax output for a solid colour, from its documented weights (tools/onnx/make_test_models.py).</summary>
    private static double[] ExpectedVggLikeScores(SKColor color)
    {
        var z = Logits(color);
        var max = z.Max();
        var sum = z.Sum(v => Math.Exp(v - max));
        return z.Select(v => Math.Exp(v - max) / sum).ToArray();
    }

    /// <summary>The test model's top class for a solid colour, from its documented weights (tools/onnx/make_test_models.py).</summary>
    private static (string Label, double Score) ExpectedVggLikeTop1(SKColor color)
    {
        var z = Logits(color);
        var best = Array.IndexOf(z, z.Max());
        var sum = z.Sum(v => Math.Exp(v - z[best]));
        return ($"class-{best}", 1.0 / sum);
    }

    private static double[] Logits(SKColor color)
    {
        // VGG preprocessing: BGR order, Caffe means subtracted, no scaling.
        double[] m = [color.Blue - 103.939, color.Green - 116.779, color.Red - 123.68];
        var z = new double[1000];
        for (var j = 0; j < 1000; j++)
        {
            z[j] = (j % 5) / 10.0;
            for (var c = 0; c < 3; c++)
            {
                z[j] += m[c] * ((((j * 7) + (c * 13)) % 17) - 8) / 100.0;
            }
        }

        return z;
    }

    private static string WriteSolidImage(string path, SKColor color)
    {
        using var bitmap = new SKBitmap(300, 200);
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
