using System.CommandLine;
using System.Globalization;
using GraphPipe.Imaging;
using GraphPipe.Models;
using GraphPipe.Stages;
using Spectre.Console;

namespace Classy;

/// <summary>
/// <c>classy demo</c>: starts the whole Classy backend in this process on loopback (model server with
/// the bundled classifier, preprocessor, downloader, and a file server standing in for the web),
/// then classifies the sample images by URL through client, server and hybrid sequencing.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var images = new Option<string?>("--images") { Description = "Directory of images to classify (default: the bundled Fashion-MNIST samples)" };
        var json = new Option<bool>("--json") { Description = "Print results as JSON" };
        var batch = new Option<int>("--batch") { Description = "Images per request (1 measures per-image latency)", DefaultValueFactory = _ => 1 };
        var model = new Option<string?>("--model") { Description = "Serve this ONNX classifier instead of the bundled demo model (needs --labels and --profile)" };
        var labels = new Option<string?>("--labels") { Description = "Labels file for --model, one per line" };
        var profile = new Option<string?>("--profile") { Description = $"Preprocessing profile for --model ({string.Join(", ", PreprocessProfile.Names)})" };
        var topK = new Option<int>("--top-k") { Description = "Labels returned per image", DefaultValueFactory = _ => 3 };
        var modesOption = new Option<string>("--modes") { Description = "Sequencing modes to run, comma-separated (the model in-process always runs as the reference)", DefaultValueFactory = _ => "client,server,hybrid" };
        var command = new Command("demo", "Start all Classy stages in-process on loopback and classify the sample images through all three sequencing modes")
        {
            images, json, batch, model, labels, profile, topK, modesOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            var asJson = parse.GetValue(json);
            var directory = parse.GetValue(images) ?? Path.Combine(AppContext.BaseDirectory, "samples");
            if (!Directory.Exists(directory))
            {
                Console.Error.WriteLine($"classy demo: --images: directory '{directory}' does not exist");
                return 2;
            }

            var files = Directory.EnumerateFiles(directory).Where(IsImageFile).Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0)
            {
                Console.Error.WriteLine($"classy demo: no images (.png, .jpg, .gif, .bmp, .webp) in '{directory}'");
                return 2;
            }

            if (ParseModes(parse.GetValue(modesOption)!) is not { } modes)
            {
                Console.Error.WriteLine($"classy demo: --modes: expected a comma-separated list of {string.Join(", ", Enum.GetNames<Sequencing>().Select(n => n.ToLowerInvariant()))}");
                return 2;
            }

            ClassyStackOptions options;
            if (parse.GetValue(model) is { } modelPath)
            {
                if (parse.GetValue(labels) is not { } labelsPath || parse.GetValue(profile) is not { } profileName)
                {
                    Console.Error.WriteLine("classy demo: --model needs --labels and --profile");
                    return 2;
                }

                PreprocessProfile chosen;
                try
                {
                    chosen = PreprocessProfile.Get(profileName);
                }
                catch (ArgumentException ex)
                {
                    Console.Error.WriteLine($"classy demo: --profile: {ex.Message}");
                    return 2;
                }

                options = new ClassyStackOptions { ModelPath = modelPath, LabelsPath = labelsPath, Profile = chosen, TopK = parse.GetValue(topK) };
            }
            else
            {
                Status(asJson, "preparing the bundled demo model (ResNet18 backbone + Fashion-MNIST head)...");
                var demo = await DemoModel.EnsureAsync(cancellationToken: ct).ConfigureAwait(false);
                options = new ClassyStackOptions { ModelPath = demo.ModelPath, LabelsPath = demo.LabelsPath, TopK = parse.GetValue(topK) };
            }

            Status(asJson, "starting model server, preprocessor, downloader and an image server on loopback...");
            await using var stack = await ClassyStack.StartAsync(options, ct).ConfigureAwait(false);
            await using var web = await LocalImageServer.StartAsync(directory, cancellationToken: ct).ConfigureAwait(false);
            var urls = files.Select(f => web.UrlOf(f).ToString()).ToArray();
            Status(asJson, $"model {stack.Endpoints.Model}  preprocessor {stack.Endpoints.Preprocessor}  downloader {stack.Endpoints.Downloader}  images {web.Address}");

            using var client = new ClassyClient(stack.Endpoints) { BatchSize = Math.Max(1, parse.GetValue(batch)) };
            var runs = new List<ModeRun>();
            foreach (var mode in modes)
            {
                // One untimed call first, so connection set-up and JIT don't count against the mode.
                await client.ClassifyAsync(urls[..1], mode, null, ct).ConfigureAwait(false);
                var (results, stats) = await client.ClassifyAsync(urls, mode, null, ct).ConfigureAwait(false);
                runs.Add(new ModeRun(mode.ToString().ToLowerInvariant(), results, stats));
            }

            // The reference: the same preprocessing and the same model session, called in-process.
            var inProcess = await ClassifyInProcessAsync(stack, options.Profile, files, Math.Max(1, parse.GetValue(batch)), ct).ConfigureAwait(false);
            runs.Add(inProcess);
            var expected = files.Select(f => ExpectedLabel(f, stack.Model.Labels)).ToArray();
            var agree = Enumerable.Range(0, files.Length).All(i => runs.All(r => r.Results[i].Label == runs[0].Results[i].Label));
            var failed = runs.Sum(r => r.Results.Count(c => !c.Succeeded));
            if (asJson)
            {
                Console.Out.WriteLine(ResultPrinter.ToJson(new
                {
                    images = files.Select(Path.GetFileName),
                    expected,
                    modes = runs.Select(r => new { mode = r.Name, r.Stats, r.Results, correct = Correct(r, expected) }),
                    modesAgree = agree,
                }));
            }
            else
            {
                if (files.Length <= MaxTableRows)
                {
                    PrintResults(files, expected, runs);
                }

                PrintModes(runs, expected);
                AnsiConsole.MarkupLine(agree
                    ? $"[green]{(modes.Length == 3 ? "All three sequencing modes" : "The sequencing modes run")} gave the same class for every image, and the same as the model in-process.[/]"
                    : "[red]The sequencing modes disagree with each other or with the model in-process on some image.[/]");
            }

            if (failed > 0 || !agree)
            {
                Console.Error.WriteLine($"classy demo: {failed} classification(s) failed{(agree ? string.Empty : "; modes disagree")}");
                return 1;
            }

            return 0;
        });
        return command;
    }

    /// <summary>The modes named in <paramref name="text"/> (in the order given, no repeats), or null if one is unknown or none is named.</summary>
    internal static Sequencing[]? ParseModes(string text)
    {
        var modes = new List<Sequencing>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<Sequencing>(name, ignoreCase: true, out var mode) || !Enum.IsDefined(mode))
            {
                return null;
            }

            if (!modes.Contains(mode)) modes.Add(mode);
        }

        return modes.Count == 0 ? null : [.. modes];
    }

    /// <summary>Beyond this many images only the per-mode summary is printed.</summary>
    private const int MaxTableRows = 40;

    private sealed record ModeRun(string Name, IReadOnlyList<Classification> Results, ClassyStats Stats);

    private static async Task<ModeRun> ClassifyInProcessAsync(ClassyStack stack, PreprocessProfile profile, string[] files, int batchSize, CancellationToken cancellationToken)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<Classification>(files.Length);
        var inputName = stack.Model.Metadata.Inputs[0].Name;
        foreach (var batch in files.Chunk(batchSize))
        {
            var pixels = new float[batch.Length * profile.ElementsPerImage];
            for (var i = 0; i < batch.Length; i++)
            {
                var bytes = await File.ReadAllBytesAsync(batch[i], cancellationToken).ConfigureAwait(false);
                ImagePreprocessor.Preprocess(bytes, profile, pixels.AsSpan(i * profile.ElementsPerImage, profile.ElementsPerImage));
            }

            var input = GraphPipe.Tensor.Create<float>(pixels, [.. profile.Shape(batch.Length)]);
            using var result = await stack.Model.InferAsync(new StageRequest([inputName], [input], [TopKLabelsStage.LabelsOutput, TopKLabelsStage.ScoresOutput], string.Empty), cancellationToken).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                throw new InvalidDataException($"in-process model: {result.Error!.Message}");
            }

            results.AddRange(ClassyClient.ToClassifications(batch, result.Outputs));
        }

        return new ModeRun("in-process", results, new ClassyStats(files.Length, stopwatch.Elapsed, 0, 0, 0));
    }

    private static void Status(bool quiet, string message)
    {
        if (!quiet)
        {
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        }
    }

    private static bool IsImageFile(string path)
        => Path.GetExtension(path).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg" or ".gif" or ".bmp" or ".webp";

    /// <summary>The label a sample's file name states (<c>0001-trouser.png</c>), matched loosely against the model's labels.</summary>
    internal static string? ExpectedLabel(string file, IReadOnlyList<string> labels)
    {
        var stem = Path.GetFileNameWithoutExtension(file);
        var dash = stem.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return null;
        }

        var key = LettersOnly(stem[(dash + 1)..]);
        return labels.FirstOrDefault(l => LettersOnly(l) == key);
    }

    private static string LettersOnly(string text) => new(text.Where(char.IsLetter).Select(char.ToLowerInvariant).ToArray());

    private static int? Correct(ModeRun run, string?[] expected)
        => expected.All(e => e is null) ? null : Enumerable.Range(0, expected.Length).Count(i => expected[i] is not null && run.Results[i].Label == expected[i]);

    private static void PrintResults(string[] files, string?[] expected, List<ModeRun> runs)
    {
        var table = new Table().Title("Classy demo: class (score) per sequencing mode").AddColumn("image");
        var showExpected = expected.Any(e => e is not null);
        if (showExpected)
        {
            table.AddColumn("expected");
        }

        foreach (var run in runs)
        {
            table.AddColumn(run.Name);
        }

        for (var i = 0; i < files.Length; i++)
        {
            var cells = new List<string> { Markup.Escape(Path.GetFileName(files[i])) };
            if (showExpected)
            {
                cells.Add(Markup.Escape(expected[i] ?? "?"));
            }

            foreach (var run in runs)
            {
                var r = run.Results[i];
                cells.Add(!r.Succeeded
                    ? $"[red]failed: {Markup.Escape(r.Error ?? string.Empty)}[/]"
                    : $"{(expected[i] is null || expected[i] == r.Label ? "[green]" : "[yellow]")}{Markup.Escape(r.Label!)}[/] {r.Score.ToString("0.00", CultureInfo.InvariantCulture)}");
            }

            table.AddRow(cells.ToArray());
        }

        AnsiConsole.Write(table);
    }

    private static void PrintModes(List<ModeRun> runs, string?[] expected)
    {
        var table = new Table().Title("Per mode (images fetched by URL through the downloader)")
            .AddColumns("mode", "images", "ms/image", "correct", "client sent/image", "client received/image", "client calls");
        foreach (var run in runs)
        {
            var n = Math.Max(1, run.Stats.Images);
            table.AddRow(
                run.Name,
                run.Stats.Images.ToString(CultureInfo.InvariantCulture),
                (run.Stats.Elapsed.TotalMilliseconds / n).ToString("0.0", CultureInfo.InvariantCulture),
                Correct(run, expected) is { } c ? $"{c}/{expected.Count(e => e is not null)}" : "-",
                FormatBytes(run.Stats.BytesSent / n),
                FormatBytes(run.Stats.BytesReceived / n),
                run.Stats.Calls.ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        < 10_000 => $"{bytes} B",
        < 10_000_000 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes / (1024.0 * 1024):0.0} MiB",
    };
}
