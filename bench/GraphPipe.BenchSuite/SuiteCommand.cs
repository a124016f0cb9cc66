using System.CommandLine;
using System.Diagnostics;

namespace GraphPipe.BenchSuite;

/// <summary>The benchmark suite's command line: every "ours vs the limit or peer" comparison, measured in one run on one machine.</summary>
internal static class SuiteCommand
{
    /// <summary>How to repeat a run, as the report shows it (the suite is not part of the shipped <c>graphpipe</c> tool).</summary>
    internal const string Invocation = "dotnet run -c Release --project bench/GraphPipe.BenchSuite --";

    public static RootCommand Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Short budgets (under 3 minutes on 2 cores); noisier figures" };
        var json = new Option<string?>("--json") { HelpName = "FILE", Description = "Also write the JSON results to this file" };
        var outDir = new Option<string>("--out-dir") { HelpName = "DIR", Description = "Folder for latest.json and latest.md", DefaultValueFactory = _ => Path.Combine("bench", "results") };
        var model = new Option<string?>("--model") { HelpName = "FILE", Description = "ONNX model for the model and pipeline rows (default: the bundled demo classifier)" };
        var labels = new Option<string?>("--labels") { HelpName = "FILE", Description = "Labels of --model, one per line, for the pipeline row (default: the demo model's; with --model: placeholders)" };
        var profile = new Option<string?>("--profile") { HelpName = "NAME", Description = "Preprocess profile of the pipeline row (default: from the model's input shape, NCHW resnet18, NHWC vgg)" };
        var threads = new Option<int>("--intra-op-threads") { Description = "Intra-op threads of the single session at concurrency 1 (both sides)", DefaultValueFactory = _ => 2 };
        var engines = new Option<int>("--engine-count") { Description = "Sessions on both sides at concurrency 4", DefaultValueFactory = _ => 2 };
        var spinning = new Option<bool>("--served-spinning") { Description = "ONNX Runtime intra-op spinning of the served sessions (default on, as serve onnx; the in-process baselines keep ONNX Runtime's default, on); the spinning rows flip it", DefaultValueFactory = _ => true };
        var only = new Option<string?>("--only") { HelpName = "IDS", Description = "Comma-separated row ids to run: " + string.Join(", ", SuiteRows.All().Select(r => r.Id)) };
        var note = new Option<string?>("--note") { HelpName = "TEXT", Description = "A remark for the report, e.g. what else was running" };
        var command = new RootCommand("GraphPipe benchmark suite: ours vs baseline per row, as a table, JSON and markdown")
        {
            quick, json, outDir, model, labels, profile, threads, engines, spinning, only, note,
        };
        command.SetAction(async (parse, ct) =>
        {
            var ids = (parse.GetValue(only) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var rows = SuiteRows.All();
            var unknown = ids.Where(id => rows.All(r => !string.Equals(r.Id, id, StringComparison.OrdinalIgnoreCase))).ToArray();
            if (unknown.Length > 0)
            {
                throw new SuiteUsageException($"--only: unknown row id(s) {string.Join(", ", unknown)} (known: {string.Join(", ", rows.Select(r => r.Id))})");
            }

            if (parse.GetValue(threads) is < 1 or > 256 || parse.GetValue(engines) is < 1 or > 64)
            {
                throw new SuiteUsageException("--intra-op-threads must be 1-256 and --engine-count 1-64");
            }

            var (modelPath, labelsPath, missing) = parse.GetValue(model) is { } given
                ? (given, (string?)null, string.Empty)
                : await SuiteModels.DefaultAsync(ct).ConfigureAwait(false);
            labelsPath = parse.GetValue(labels) ?? labelsPath;
            var context = new SuiteContext
            {
                Quick = parse.GetValue(quick),
                ModelPath = modelPath,
                ModelMissingReason = missing,
                LabelsPath = labelsPath,
                ProfileName = parse.GetValue(profile),
                IntraOpThreads = parse.GetValue(threads),
                EngineCount = parse.GetValue(engines),
                ServedSpinning = parse.GetValue(spinning),
                Progress = message => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}"),
            };
            var selected = ids.Length == 0 ? rows : rows.Where(r => ids.Contains(r.Id, StringComparer.OrdinalIgnoreCase)).ToArray();
            // As typed (values with spaces quoted), so the report says how to repeat the run.
            var commandLine = string.Join(' ', new[] { Invocation }.Concat(parse.Tokens.Select(t => t.Value.Contains(' ', StringComparison.Ordinal) ? $"\"{t.Value}\"" : t.Value)));
            var run = await RunAsync(context, selected, commandLine, ct).ConfigureAwait(false) with { Note = parse.GetValue(note) };

            SuiteReport.PrintTable(run);
            var directory = parse.GetValue(outDir)!;
            Directory.CreateDirectory(directory);
            var jsonText = SuiteReport.ToJson(run);
            await File.WriteAllTextAsync(Path.Combine(directory, "latest.json"), jsonText, ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(directory, "latest.md"), SuiteReport.ToMarkdown(run), ct).ConfigureAwait(false);
            if (parse.GetValue(json) is { } jsonPath)
            {
                await File.WriteAllTextAsync(jsonPath, jsonText, ct).ConfigureAwait(false);
            }

            Console.Error.WriteLine($"bench suite: wrote {Path.Combine(directory, "latest.md")} and latest.json in {run.Seconds:0} s");
            // Missed targets are results, not failures; a row that could not run at all is.
            return run.Rows.Any(r => r.Error is not null) ? 1 : 0;
        });
        return command;
    }

    internal static async Task<SuiteRun> RunAsync(SuiteContext context, IReadOnlyList<IBenchRow> rows, string commandLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rows);
        var machine = MachineInfo.Collect();
        var started = Stopwatch.GetTimestamp();
        var results = new List<RowResult>();
        foreach (var row in rows)
        {
            context.Progress(row.Title);
            try
            {
                results.AddRange(await row.RunAsync(context, cancellationToken).ConfigureAwait(false));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One broken comparison must not cost the others' figures: it becomes a row saying why.
                results.Add(new RowResult { Group = row.Id, Name = row.Title, Error = $"{ex.GetType().Name}: {ex.Message}" });
                context.Progress($"{row.Id} failed: {ex}");
            }
        }

        return new SuiteRun(context.Quick ? "quick" : "full", commandLine, machine, MachineInfo.ReadLoadAverage(), Stopwatch.GetElapsedTime(started).TotalSeconds, results);
    }
}
