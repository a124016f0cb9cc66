using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using GraphPipe.Models;
using SkiaSharp;

namespace GraphPipe.Train;

internal static class Commands
{
    private static Option<string> DataDir() => new("--data-dir")
    {
        Description = "Directory with Fashion-MNIST {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
        DefaultValueFactory = _ => FashionMnist.DefaultDirectory,
    };

    private static Option<string?> CacheDir() => new("--cache-dir") { Description = "Model cache directory (default: $GP_CACHE_DIR or ~/.cache/graphpipe/models)" };

    private static Option<int> BatchSize() => new("--batch-size") { Description = "Images per ONNX Runtime call", DefaultValueFactory = _ => 16 };

    private static Option<int> Threads() => new("--threads") { Description = "ONNX Runtime intra-op threads (0: one per core)", DefaultValueFactory = _ => 0 };

    public static Command Train()
    {
        var dataDir = DataDir();
        var cacheDir = CacheDir();
        var batch = BatchSize();
        var threads = Threads();
        var perClass = new Option<int>("--per-class") { Description = "Training images per class: the first K of each class in the training set", DefaultValueFactory = _ => 500 };
        var epochs = new Option<int>("--epochs") { Description = "Full-batch L-BFGS iterations (at most)", DefaultValueFactory = _ => 300 };
        var l2 = new Option<double?>("--l2") { Description = "L2 penalty on the standardised weights (default: picked from a grid on a 10% hold-out)" };
        var output = new Option<string>("--out") { Description = "Head file to write", DefaultValueFactory = _ => "src/GraphPipe.Models/fashion-head.bin" };
        var noCache = new Option<bool>("--no-feature-cache") { Description = "Always extract features (do not read or write the feature cache)" };
        var command = new Command("train", "Extract ResNet18 features of Fashion-MNIST training images and fit the softmax head")
        {
            dataDir, cacheDir, batch, threads, perClass, epochs, l2, output, noCache,
        };
        command.SetAction(async (parse, ct) =>
        {
            var total = Stopwatch.StartNew();
            var k = parse.GetValue(perClass);
            ArgumentOutOfRangeException.ThrowIfLessThan(k, 2);
            var dir = parse.GetValue(dataDir)!;
            var labels = FashionMnist.ReadLabels(FashionMnist.FilePath(dir, train: true, images: false));
            var classes = DemoModel.Labels.Count;
            var taken = new int[classes];
            var indices = new List<int>();
            for (var i = 0; i < labels.Length; i++)
            {
                if (labels[i] < classes && taken[labels[i]] < k)
                {
                    taken[labels[i]]++;
                    indices.Add(i);
                }
            }

            Console.Out.WriteLine($"train: {indices.Count} images (first {k} per class of {labels.Length}), {classes} classes");
            var backbone = await DemoModel.EnsureBackboneAsync(parse.GetValue(cacheDir), ct).ConfigureAwait(false);
            Console.Out.WriteLine($"backbone: {backbone}");
            var cachePath = Path.Combine(Path.GetDirectoryName(backbone)!, $"{Path.GetFileNameWithoutExtension(backbone)}-fashion-train-first{k}.features");
            var cached = parse.GetValue(noCache) ? null : FeatureCache.TryRead(cachePath, DemoModel.FeatureCount);
            float[] features;
            var extract = Stopwatch.StartNew();
            if (cached is { } hit && hit.Indices.SequenceEqual(indices))
            {
                features = hit.Features;
                Console.Out.WriteLine($"features: read from cache {cachePath}");
            }
            else
            {
                var images = FashionMnist.ReadImages(FashionMnist.FilePath(dir, train: true, images: true));
                using var runner = new ModelRunner(backbone, parse.GetValue(threads));
                var progress = new Progress("features", indices.Count);
                features = runner.Run(images, indices, parse.GetValue(batch), [DemoModel.FeaturesOutput], progress.Report, ct)[DemoModel.FeaturesOutput];
                Console.Out.WriteLine($"features: extracted {indices.Count} in {extract.Elapsed.TotalSeconds:F1}s ({indices.Count / extract.Elapsed.TotalSeconds:F1} images/s)");
                if (!parse.GetValue(noCache))
                {
                    FeatureCache.Write(cachePath, features, [.. indices.Select(i => (int)labels[i])], [.. indices], DemoModel.FeatureCount);
                }
            }

            var y = indices.Select(i => (int)labels[i]).ToArray();
            var dim = DemoModel.FeatureCount;
            var maxIterations = parse.GetValue(epochs);
            var fit = Stopwatch.StartNew();
            var penalty = parse.GetValue(l2) ?? PickL2(features, y, dim, classes, maxIterations);
            var (weights, bias, iterations, loss) = SoftmaxRegression.Train(features, y, dim, classes, penalty, maxIterations, Console.Out.WriteLine);
            var predictions = SoftmaxRegression.Predict(features, y.Length, dim, classes, weights, bias);
            var accuracy = predictions.Zip(y).Count(p => p.First == p.Second) / (double)y.Length;
            Console.Out.WriteLine($"fit: l2 {penalty:G3}, {iterations} iterations, loss {loss:F4}, {fit.Elapsed.TotalSeconds:F1}s");
            Console.Out.WriteLine($"train accuracy: {accuracy:P2} ({predictions.Zip(y).Count(p => p.First == p.Second)}/{y.Length})");

            var head = new DemoModelHead(dim, classes, weights, bias);
            var path = parse.GetValue(output)!;
            head.Write(path);
            Console.Out.WriteLine($"wrote {Path.GetFullPath(path)} ({new FileInfo(path).Length} bytes); rebuild GraphPipe.Models to embed it");
            Console.Out.WriteLine($"total: {total.Elapsed.TotalSeconds:F1}s");
            return 0;
        });
        return command;
    }

    /// <summary>Picks the L2 penalty with the best accuracy on every 10th training image held out (ties: the larger penalty).</summary>
    private static double PickL2(float[] features, int[] y, int dim, int classes, int maxIterations)
    {
        var trainRows = Enumerable.Range(0, y.Length).Where(i => i % 10 != 0).ToArray();
        var holdRows = Enumerable.Range(0, y.Length).Where(i => i % 10 == 0).ToArray();
        float[] Rows(int[] rows) => rows.SelectMany(r => features.AsSpan(r * dim, dim).ToArray()).ToArray();
        var trainX = Rows(trainRows);
        var holdX = Rows(holdRows);
        var trainY = trainRows.Select(r => y[r]).ToArray();
        var holdY = holdRows.Select(r => y[r]).ToArray();
        var best = (L2: 0.0, Correct: -1);
        foreach (var candidate in new[] { 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1 })
        {
            var (w, b, _, _) = SoftmaxRegression.Train(trainX, trainY, dim, classes, candidate, maxIterations);
            var correct = SoftmaxRegression.Predict(holdX, holdY.Length, dim, classes, w, b).Zip(holdY).Count(p => p.First == p.Second);
            Console.Out.WriteLine($"  l2 {candidate:G3}: hold-out accuracy {correct / (double)holdY.Length:P2} ({correct}/{holdY.Length})");
            if (correct >= best.Correct) best = (candidate, correct);
        }

        return best.L2;
    }

    public static Command Evaluate()
    {
        var dataDir = DataDir();
        var cacheDir = CacheDir();
        var batch = BatchSize();
        var threads = Threads();
        var count = new Option<int>("--count") { Description = "How many test images to classify", DefaultValueFactory = _ => 2000 };
        var offset = new Option<int>("--offset") { Description = "Index of the first test image", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--out") { Description = "Also write the report to this file" };
        var command = new Command("evaluate", "Classify Fashion-MNIST test images with the assembled demo model (in-process) and report accuracy")
        {
            dataDir, cacheDir, batch, threads, count, offset, output,
        };
        command.SetAction(async (parse, ct) =>
        {
            var dir = parse.GetValue(dataDir)!;
            var images = FashionMnist.ReadImages(FashionMnist.FilePath(dir, train: false, images: true));
            var labels = FashionMnist.ReadLabels(FashionMnist.FilePath(dir, train: false, images: false));
            var start = parse.GetValue(offset);
            var n = Math.Min(parse.GetValue(count), images.Count - start);
            ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
            var files = await DemoModel.EnsureAsync(parse.GetValue(cacheDir), ct).ConfigureAwait(false);
            var names = DemoModel.Labels;
            var classes = names.Count;
            using var runner = new ModelRunner(files.ModelPath, parse.GetValue(threads));
            var indices = Enumerable.Range(start, n).ToArray();
            var clock = Stopwatch.StartNew();
            var probs = runner.Run(images, indices, parse.GetValue(batch), [DemoModel.ProbsOutput], new Progress("evaluate", n).Report, ct)[DemoModel.ProbsOutput];
            var seconds = clock.Elapsed.TotalSeconds;

            var confusion = new int[classes, classes];
            var correct = 0;
            var maxSumError = 0.0;
            for (var i = 0; i < n; i++)
            {
                var row = probs.AsSpan(i * classes, classes);
                var predicted = 0;
                double sum = 0;
                for (var c = 0; c < classes; c++)
                {
                    sum += row[c];
                    if (row[c] > row[predicted]) predicted = c;
                }

                maxSumError = Math.Max(maxSumError, Math.Abs(sum - 1));
                var actual = labels[indices[i]];
                confusion[actual, predicted]++;
                if (actual == predicted) correct++;
            }

            var report = new StringBuilder();
            var inv = CultureInfo.InvariantCulture;
            report.AppendLine(inv, $"model:     {DemoModel.ModelName} ({files.ModelPath})");
            report.AppendLine(inv, $"data:      Fashion-MNIST t10k images {start}..{start + n - 1} ({n} images)");
            report.AppendLine(inv, $"accuracy:  {correct / (double)n:P2} ({correct}/{n})");
            report.AppendLine(inv, $"speed:     {n / seconds:F1} images/s ({seconds:F1}s, batch {parse.GetValue(batch)}, {Environment.ProcessorCount} cores, conversion included)");
            report.AppendLine(inv, $"probs:     max |row sum - 1| = {maxSumError:E1}");
            report.AppendLine("per class (recall; most frequent confusion):");
            for (var a = 0; a < classes; a++)
            {
                var total = Enumerable.Range(0, classes).Sum(p => confusion[a, p]);
                var worst = Enumerable.Range(0, classes).Where(p => p != a).MaxBy(p => confusion[a, p]);
                report.AppendLine(inv, $"  {names[a],-12} {confusion[a, a],5}/{total,-5} {(total == 0 ? 0 : confusion[a, a] / (double)total),7:P1}   -> {names[worst]} x{confusion[a, worst]}");
            }

            report.AppendLine("confusion matrix (rows: actual, columns: predicted, class order as above):");
            for (var a = 0; a < classes; a++)
            {
                report.Append("  ");
                for (var p = 0; p < classes; p++) report.Append(inv, $"{confusion[a, p],5}");
                report.AppendLine();
            }

            Console.Out.Write(report.ToString());
            if (parse.GetValue(output) is { } path)
            {
                var full = Path.GetFullPath(path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                await File.WriteAllTextAsync(full, report.ToString(), ct).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    public static Command ExportSamples()
    {
        var dataDir = DataDir();
        var perClass = new Option<int>("--per-class") { Description = "Images per class: the first K of each class in the test set", DefaultValueFactory = _ => 2 };
        var first = new Option<int?>("--first") { Description = "Instead: the first N test images, whatever their class (e.g. to evaluate the pipeline with 'classy demo --images DIR')" };
        var output = new Option<string>("--out") { Description = "Directory for the PNG files and README.md", DefaultValueFactory = _ => "tests/assets/images/fashion" };
        var command = new Command("export-samples", "Write the first test images of each class as 28x28 grayscale PNG files (INDEX-LABEL.png)") { dataDir, perClass, first, output };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(dataDir)!;
            var images = FashionMnist.ReadImages(FashionMnist.FilePath(dir, train: false, images: true));
            var labels = FashionMnist.ReadLabels(FashionMnist.FilePath(dir, train: false, images: false));
            var firstN = parse.GetValue(first);
            var k = firstN ?? parse.GetValue(perClass);
            var outDir = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(outDir);
            var names = FashionMnist.Labels;
            var taken = new int[names.Count];
            var written = new List<string>();
            for (var i = 0; i < labels.Length && (firstN is { } n ? i < n : taken.Any(t => t < k)); i++)
            {
                if (firstN is null && taken[labels[i]] >= k) continue;
                taken[labels[i]]++;
                var file = $"{i:D4}-{FashionMnist.Slug(names[labels[i]])}.png";
                File.WriteAllBytes(Path.Combine(outDir, file), EncodePng(images.Image(i), images.Columns, images.Rows));
                written.Add(file);
            }

            written.Sort(StringComparer.Ordinal);
            if (firstN is null)
            {
                File.WriteAllText(Path.Combine(outDir, "README.md"), SamplesReadme(k, written));
            }

            Console.Out.WriteLine($"wrote {written.Count} images{(firstN is null ? " and README.md" : string.Empty)} to {outDir}");
            return 0;
        });
        return command;
    }

    private static byte[] EncodePng(ReadOnlySpan<byte> gray, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        for (var row = 0; row < height; row++)
        {
            gray.Slice(row * width, width).CopyTo(pixels.Slice(row * bitmap.RowBytes, width));
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static string SamplesReadme(int k, List<string> files)
        => $"""
        # Fashion-MNIST sample images

        {files.Count} images from the Fashion-MNIST **test** set (`t10k`): the first {k} of each of the 10 classes,
        as 28x28 8-bit grayscale PNG files named `INDEX-LABEL.png` (INDEX is the image's position in
        `t10k-images-idx3-ubyte`, LABEL its class). They are what the bundled demo model
        (`classy-resnet18-fashion`, see docs/demo-model.md) is meant to classify.

        Regenerate (reproducible, from Debian's `dataset-fashion-mnist` package):

            dotnet run --project tools/GraphPipe.Train -- export-samples --per-class {k} --out tests/assets/images/fashion

        Source: Fashion-MNIST, https://github.com/zalandoresearch/fashion-mnist
        Copyright (c) 2017 Zalando SE. Licence: MIT (see /usr/share/doc/dataset-fashion-mnist/copyright).

        Files: {string.Join(", ", files.Select(f => $"`{f}`"))}

        """;
}
