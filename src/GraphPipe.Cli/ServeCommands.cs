using System.CommandLine;
using GraphPipe.Models;
using GraphPipe.Onnx;
using GraphPipe.Server;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe serve ...</c>: one subcommand per stage kind.</summary>
internal static class ServeCommands
{
    public static Command Create()
    {
        var serve = new Command("serve", "Serve a stage over GraphPipe");
        serve.Add(Onnx());
        serve.Add(DownloadCommand.Create());
        serve.Add(PreprocessCommand.Create());
        return serve;
    }

    private static Command Onnx()
    {
        var settings = new ServerSettings();
        var batching = new BatchingSettings();
        var model = CliOptions.EnvString("--model", "GP_MODEL", "Path of the .onnx model to serve", null, "-m");
        var engines = CliOptions.Env("--engine-count", "GP_ENGINE_COUNT", "Parallel model instances (sessions)", 1);
        var threads = CliOptions.Env("--intra-op-threads", "GP_INTRA_OP_THREADS", "Threads per session inside an operator (0: one per core)", 0);
        var name = CliOptions.EnvString("--name", "GP_NAME", "Name reported in metadata (default: the file name)", null);
        var labels = CliOptions.EnvString("--labels", "GP_LABELS", "Labels file (one per line): adds outputs top_labels and top_scores", null);
        var topK = CliOptions.Env("--top-k", "GP_TOP_K", "How many labels top_labels/top_scores return per row", 5);
        var labelsFrom = CliOptions.EnvString("--labels-from", "GP_LABELS_FROM", "Score output the labels are taken from (default: the first float32 [N,C] output)", null);
        var demo = CliOptions.Env("--demo", "GP_DEMO", $"Serve the bundled demo classifier '{DemoModel.ModelName}' (ResNet18 + Fashion-MNIST head, labels included; assembled once into $GP_CACHE_DIR or ~/.cache/graphpipe/models) instead of --model", false);
        var splitBatch = CliOptions.Env("--split-batch", "GP_SPLIT_BATCH", "A model fixed at batch 1 takes requests of N rows, run one row at a time (false: exactly one row)", true);
        var command = new Command("onnx", "Serve an ONNX model with ONNX Runtime") { model, engines, threads, name, labels, topK, labelsFrom, demo, splitBatch };
        settings.AddTo(command);
        batching.AddTo(command);
        // A model may pass its outputs on (--next, e.g. to a post-processing stage); config never names where.
        var forwarding = new ForwardingSettings();
        forwarding.AddNextOnlyTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var batchingOptions = batching.Options(parse, parse.GetValue(engines));
            var path = parse.GetValue(model);
            var labelsPath = parse.GetValue(labels);
            var modelName = parse.GetValue(name);
            if (parse.GetValue(demo))
            {
                if (path is not null)
                {
                    throw CliException.Usage("--model and --demo cannot be used together (GP_MODEL / GP_DEMO count too)");
                }

                var files = await EnsureDemoAsync(ct).ConfigureAwait(false);
                path = files.ModelPath;
                labelsPath ??= files.LabelsPath;
                modelName ??= DemoModel.ModelName;
            }

            if (path is null)
            {
                throw CliException.Usage("--model is required (or set GP_MODEL), or --demo for the bundled demo classifier");
            }

            if (!File.Exists(path))
            {
                throw new CliException($"--model: file '{path}' does not exist");
            }

            OnnxModelStage stage;
            try
            {
                stage = new OnnxModelStage(new OnnxModelOptions
                {
                    ModelPath = path,
                    Name = modelName,
                    EngineCount = parse.GetValue(engines),
                    IntraOpThreads = parse.GetValue(threads),
                    SplitFixedBatch = parse.GetValue(splitBatch),
                    ExecutionProvider = batching.Provider(parse),
                    DeviceId = parse.GetValue(batching.DeviceId),
                });
            }
            catch (NotSupportedException ex)
            {
                throw new CliException($"--execution-provider: {ex.Message}");
            }
            catch (System.ComponentModel.DataAnnotations.ValidationException ex)
            {
                // An option out of range (e.g. --engine-count 0): the call is wrong, not the model.
                throw CliException.Usage(ex.Message);
            }
            catch (InvalidDataException ex)
            {
                throw new CliException(ex.Message);
            }

            using (stage)
            {
                var pipeline = new StagePipelineBuilder(stage);
                var batchers = new List<GraphPipe.Pipelines.BatchingStage>();
                using var disposeBatchers = new DisposeAll(batchers);
                if (batchingOptions is not null)
                {
                    AddBatching(pipeline, batchingOptions, batchers);
                }

                if (labelsPath is not null)
                {
                    AddLabels(pipeline, labelsPath, parse.GetValue(topK), parse.GetValue(labelsFrom));
                }

                var served = pipeline.Build();

                var stageName = served.Metadata.Name is { Length: > 0 } n ? n : "model";
                await using var app = settings.Build(parse, stageName, serving =>
                {
                    if (forwarding.NextSpec(parse) is null)
                    {
                        serving.AddStage(GraphPipeStageHost.SafeName(stageName), served);
                    }
                    else
                    {
                        forwarding.AddNextOnlyStage(serving, parse, stageName, served);
                    }
                });
                return await ServerSettings.RunAsync(app, ct).ConfigureAwait(false);
            }
        });
        return command;
    }

    private static async Task<DemoModelFiles> EnsureDemoAsync(CancellationToken ct)
    {
        try
        {
            return await DemoModel.EnsureAsync(cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new CliException($"--demo: {ex.Message}");
        }
    }

    private static void AddBatching(StagePipelineBuilder pipeline, GraphPipe.Pipelines.BatchingOptions options, List<GraphPipe.Pipelines.BatchingStage> batchers)
    {
        try
        {
            // Right around the model, before the labels: the batch holds the model's own outputs.
            pipeline.AddBatching(options, added: batchers.Add).Build();
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage($"--max-batch-size: {ex.Message}");
        }
    }

    private sealed class DisposeAll(List<GraphPipe.Pipelines.BatchingStage> stages) : IDisposable
    {
        public void Dispose()
        {
            foreach (var stage in stages) stage.Dispose();
        }
    }

    private static void AddLabels(StagePipelineBuilder pipeline, string labelsPath, int k, string? source)
    {
        if (!File.Exists(labelsPath))
        {
            throw new CliException($"--labels: file '{labelsPath}' does not exist");
        }

        try
        {
            // Build now, so a wrong --labels-from or k is reported here as a flag error.
            pipeline.AddTopKLabels(GraphPipe.Stages.TopKLabelsStage.ReadLabelsFile(labelsPath), k, source).Build();
        }
        catch (ArgumentException ex)
        {
            throw new CliException($"--labels: {ex.Message}");
        }
    }
}
