using GraphPipe.Models;
using Microsoft.ML.OnnxRuntime;
using SkiaSharp;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

/// <summary>A sample image from tests/assets/images/fashion: its file, label index and model input [3,224,224].</summary>
public sealed record FashionSample(string File, int Label, float[] Input);

/// <summary>Assembles the demo model once (into a temporary cache directory) and opens one session on it.</summary>
public sealed class DemoModelFixture : IAsyncLifetime
{
    public string CacheDirectory { get; } = Directory.CreateTempSubdirectory("graphpipe-demo-cache-").FullName;

    public DemoModelFiles Files { get; private set; } = null!;

    public InferenceSession Session { get; private set; } = null!;

    public IReadOnlyList<FashionSample> Samples { get; private set; } = [];

    public static string SamplesDirectory => Path.Combine(AppContext.BaseDirectory, "images", "fashion");

    public async ValueTask InitializeAsync()
    {
        Files = await Demo.EnsureAsync(CacheDirectory, TestContext.Current.CancellationToken);
        using var options = new SessionOptions();
        Session = new InferenceSession(Files.ModelPath, options);
        var slugs = FashionMnist.Labels.Select(FashionMnist.Slug).ToList();
        Samples = Directory.GetFiles(SamplesDirectory, "*.png")
            .Order(StringComparer.Ordinal)
            .Select(path =>
            {
                var name = Path.GetFileNameWithoutExtension(path);
                var label = slugs.IndexOf(name[(name.IndexOf('-', StringComparison.Ordinal) + 1)..]);
                Assert.True(label >= 0, $"no label in file name {name}");
                var (gray, width, height) = ReadGray(path);
                var input = new float[3 * Demo.ImageSize * Demo.ImageSize];
                FashionMnist.ToModelInput(gray, width, height, input);
                return new FashionSample(Path.GetFileName(path), label, input);
            })
            .ToList();
    }

    /// <summary>Runs <paramref name="samples"/> as one batch; returns (probs [n,10], features [n,512]).</summary>
    public (float[] Probs, float[] Features) Run(IReadOnlyList<FashionSample> samples)
    {
        var per = 3 * Demo.ImageSize * Demo.ImageSize;
        var input = new float[samples.Count * per];
        for (var i = 0; i < samples.Count; i++) samples[i].Input.CopyTo(input, i * per);
        using var value = OrtValue.CreateTensorValueFromMemory(input, [samples.Count, 3, Demo.ImageSize, Demo.ImageSize]);
        using var runOptions = new RunOptions();
        using var outputs = Session.Run(runOptions, [Demo.InputName], [value], [Demo.ProbsOutput, Demo.FeaturesOutput]);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray());
    }

    private static (byte[] Gray, int Width, int Height) ReadGray(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"cannot decode {path}");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = SKBitmap.Decode(codec, info) ?? throw new InvalidDataException($"cannot decode {path} as gray");
        var gray = new byte[info.Width * info.Height];
        var pixels = bitmap.GetPixelSpan();
        for (var y = 0; y < info.Height; y++) pixels.Slice(y * bitmap.RowBytes, info.Width).CopyTo(gray.AsSpan(y * info.Width));
        return (gray, info.Width, info.Height);
    }

    public ValueTask DisposeAsync()
    {
        Session?.Dispose();
        try
        {
            Directory.Delete(CacheDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file; the temp directory is left behind.
        }

        return ValueTask.CompletedTask;
    }
}
