using GraphPipe.Models;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

/// <summary>The assembled demo classifier (ResNet18 + Fashion-MNIST head) run in-process with ONNX Runtime.</summary>
public sealed partial class DemoModelTests(DemoModelFixture fixture) : IClassFixture<DemoModelFixture>
{
    /// <summary>
    /// Correct top-1 labels required of the 20 sample images. Measured with the committed head:
    /// 17/20 (misses: 0006 coat -> Shirt, 0027 t-shirt -> Dress, 0029 dress -> Coat); the bar sits
    /// below that so a retrained head of about the same accuracy (~85%) still passes.
    /// </summary>
    private const int MinimumCorrectSamples = 15;

    [Fact]
    public void EnsureAsync_TempCache_ModelTakesImageNx3x224x224AndGivesProbsAndFeatures()
    {
        Assert.True(File.Exists(fixture.Files.ModelPath));
        Assert.StartsWith(Path.GetFullPath(fixture.CacheDirectory), fixture.Files.ModelPath, StringComparison.Ordinal);
        var input = Assert.Single(fixture.Session.InputMetadata);
        Assert.Equal(Demo.InputName, input.Key);
        Assert.Equal([-1, 3, 224, 224], input.Value.Dimensions);
        Assert.Equal(typeof(float), input.Value.ElementType);
        Assert.Equal([Demo.ProbsOutput, Demo.FeaturesOutput], fixture.Session.OutputMetadata.Keys);
        Assert.Equal([-1, 10], fixture.Session.OutputMetadata[Demo.ProbsOutput].Dimensions);
        Assert.Equal([-1, 512], fixture.Session.OutputMetadata[Demo.FeaturesOutput].Dimensions);
    }

    [Fact]
    public void EnsureAsync_Labels_AreTheTenFashionMnistClassesNextToTheModel()
    {
        Assert.Equal(Path.GetDirectoryName(fixture.Files.ModelPath), Path.GetDirectoryName(fixture.Files.LabelsPath));
        Assert.Equal(FashionMnist.Labels, File.ReadAllLines(fixture.Files.LabelsPath));
        Assert.Equal(FashionMnist.Labels, Demo.Labels);
    }

    [Fact]
    public async Task EnsureAsync_SecondCall_ReusesTheCachedFiles()
    {
        var before = File.GetLastWriteTimeUtc(fixture.Files.ModelPath);
        var again = await Demo.EnsureAsync(fixture.CacheDirectory, TestContext.Current.CancellationToken);
        Assert.Equal(fixture.Files, again);
        Assert.Equal(before, File.GetLastWriteTimeUtc(again.ModelPath));
        Assert.Empty(Directory.GetFiles(fixture.CacheDirectory, "*.tmp"));
    }

    [Fact]
    public void SampleImages_InBatchesOfThree_ProbsSumToOneAndMostTopOnesMatchTheLabel()
    {
        Assert.Equal(20, fixture.Samples.Count);
        var correct = 0;
        var misses = new List<string>();
        foreach (var chunk in fixture.Samples.Chunk(3))
        {
            var (probs, features) = fixture.Run(chunk);
            Assert.Equal(chunk.Length * 10, probs.Length);
            Assert.Equal(chunk.Length * 512, features.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                var row = probs.AsSpan(i * 10, 10).ToArray();
                Assert.All(row, p => Assert.InRange(p, 0f, 1f));
                Assert.InRange(row.Sum(), 1 - 1e-4f, 1 + 1e-4f);
                var top = Array.IndexOf(row, row.Max());
                if (top == chunk[i].Label) correct++;
                else misses.Add($"{chunk[i].File} -> {FashionMnist.Labels[top]} ({row.Max():F2})");
            }
        }

        Assert.True(correct >= MinimumCorrectSamples, $"{correct}/20 correct; misses: {string.Join("; ", misses)}");
    }

    [Fact]
    public void Batch_OfThree_EqualsEachImageRunAlone()
    {
        var three = fixture.Samples.Where((_, i) => i % 7 == 1).Take(3).ToArray();
        var (batchProbs, batchFeatures) = fixture.Run(three);
        for (var i = 0; i < three.Length; i++)
        {
            var (probs, features) = fixture.Run([three[i]]);
            AssertClose(probs, batchProbs.AsSpan(i * 10, 10).ToArray(), 1e-4f);
            AssertClose(features, batchFeatures.AsSpan(i * 512, 512).ToArray(), 1e-4f * Math.Max(1f, features.Max(Math.Abs)));
        }
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= tolerance, $"max difference {worst} > {tolerance}");
    }
}
