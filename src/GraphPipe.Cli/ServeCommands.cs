using System.CommandLine;
using GraphPipe.Models;
using GraphPipe.Onnx;
using GraphPipe.Onnx.Repository;
using GraphPipe.Server;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
        var cache = new CacheSettings();
        var batching = new BatchingSettings();
        var model = new Option<string[]>("--model", "-m")
        {
            Description = "Model to serve: PATH or NAME=PATH, repeatable; PATH is a .onnx file (version 1) or a directory of VERSION/model.onnx [env: GP_MODEL, comma-separated]",
            DefaultValueFactory = _ => CliOptions.SplitList(Environment.GetEnvironmentVariable("GP_MODEL")),
            Arity = ArgumentArity.ZeroOrMore,
        };
        var repository = CliOptions.EnvString("--model-repository", "GP_MODEL_REPOSITORY", "Directory of models laid out like Triton's (NAME/VERSION/model.onnx, labels.txt beside it optional): each at /NAME and /NAME/versions/VERSION", null);
        var defaultModel = CliOptions.EnvString("--default-model", "GP_DEFAULT_MODEL", "Model also served on / (default: the first)", null);
        var reload = CliOptions.Env("--reload", "GP_RELOAD", "Load new versions and replaced model files while serving", true);
        var reloadPoll = CliOptions.Duration("--reload-poll", "GP_RELOAD_POLL", "How often model files are checked when no change notification came", TimeSpan.FromSeconds(10));
        var engines = CliOptions.Env("--engine-count", "GP_ENGINE_COUNT", "Parallel model instances (sessions)", 1);
        var threads = CliOptions.Env("--intra-op-threads", "GP_INTRA_OP_THREADS", "Threads per session inside an operator (0: one per core)", 0);
        var spinning = CliOptions.Env("--intra-op-spinning", "GP_INTRA_OP_SPINNING", "Let ONNX Runtime's intra-op threads spin between runs (false: they sleep, leaving the cores to the server; slower for a lone client)", true);
        var name = CliOptions.EnvString("--name", "GP_NAME", "Name reported in metadata (default: the file name)", null);
        var labels = CliOptions.EnvString("--labels", "GP_LABELS", "Labels file (one per line): adds outputs top_labels and top_scores", null);
        var topK = CliOptions.Env("--top-k", "GP_TOP_K", "How many labels top_labels/top_scores return per row", 5);
        var labelsFrom = CliOptions.EnvString("--labels-from", "GP_LABELS_FROM", "Score output the labels are taken from (default: the first float32 [N,C] output)", null);
        var demo = CliOptions.Env("--demo", "GP_DEMO", $"Serve the bundled demo classifier '{DemoModel.ModelName}' (ResNet18 + Fashion-MNIST head, labels included; assembled once into $GP_CACHE_DIR or ~/.cache/graphpipe/models) instead of --model", false);
        var modelCpus = CliOptions.EnvString("--model-cpus", "GP_MODEL_CPUS", "Pin the model's threads to these CPUs (e.g. 1 or 2-3; Linux), leaving the others to the HTTP server", null);
        var splitBatch = CliOptions.Env("--split-batch", "GP_SPLIT_BATCH", "A model fixed at batch 1 takes requests of N rows, run one row at a time (false: exactly one row)", true);
        var command = new Command("onnx", "Serve ONNX models with ONNX Runtime") { model, repository, defaultModel, reload, reloadPoll, engines, threads, spinning, name, labels, topK, labelsFrom, demo, splitBatch, modelCpus };
        settings.AddTo(command);
        cache.AddTo(command);
        batching.AddTo(command);
        // A model may pass its outputs on (--next, e.g. to a post-processing stage); config never names where.
        var forwarding = new ForwardingSettings();
        forwarding.AddNextOnlyTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var batchingOptions = batching.Options(parse, parse.GetValue(engines));
            var provider = batching.Provider(parse);
            var sources = await ModelSourcesAsync(parse, model, repository, name, labels, demo, ct).ConfigureAwait(false);
            var session = new OnnxModelOptions
            {
                ModelPath = "(each model)",
                EngineCount = parse.GetValue(engines),
                IntraOpThreads = parse.GetValue(threads),
                IntraOpSpinning = parse.GetValue(spinning),
                SplitFixedBatch = parse.GetValue(splitBatch),
                ExecutionProvider = provider,
                DeviceId = parse.GetValue(batching.DeviceId),
                Cpus = parse.GetValue(modelCpus) is { } cpuList ? CpuListFlag.Parse("--model-cpus", cpuList) : [],
            };
            try
            {
                System.ComponentModel.DataAnnotations.Validator.ValidateObject(session, new(session), validateAllProperties: true);
            }
            catch (System.ComponentModel.DataAnnotations.ValidationException ex)
            {
                // An option out of range (e.g. --engine-count 0): the call is wrong, not the model.
                throw CliException.Usage(ex.ValidationResult.MemberNames.Contains(nameof(OnnxModelOptions.Cpus))
                    ? "--model-cpus" + ex.Message[nameof(OnnxModelOptions.Cpus).Length..]
                    : ex.Message);
            }

            var defaultName = parse.GetValue(defaultModel) ?? sources[0].Name;
            if (!sources.Any(s => s.Name == defaultName))
            {
                throw CliException.Usage($"--default-model: no model is named '{defaultName}' (models: {string.Join(", ", sources.Select(s => s.Name))})");
            }

            var poll = parse.GetValue(reloadPoll);
            if (poll <= TimeSpan.Zero)
            {
                throw CliException.Usage("--reload-poll must be above zero");
            }

            var repositoryOptions = new ModelRepositoryOptions { Session = session, Watch = parse.GetValue(reload), PollInterval = poll, RepositoryDirectory = parse.GetValue(repository) };
            var k = parse.GetValue(topK);
            var source = parse.GetValue(labelsFrom);
            WebApplication app;
            try
            {
                app = settings.Build(parse, defaultName, serving =>
                {
                    cache.Register(parse, serving.Services);
                    serving.Services.AddSingleton(sp => new ModelRepository(sources, repositoryOptions,
                        (info, stage, owned) => Decorate(sp, info, stage, owned, batchingOptions, k, source),
                        sp.GetRequiredService<ILoggerFactory>().CreateLogger<ModelRepository>()));
                    serving.Services.AddHostedService<ModelRepositoryWatch>();
                    if (repositoryOptions is { RepositoryDirectory: not null, Watch: true })
                    {
                        // A model directory dropped into the repository is served without a restart, forwarding like the default model.
                        serving.AddStageDirectory(sp => sp.GetRequiredService<ModelRepository>(), servedLike: GraphPipeStageHost.SafeName(defaultName));
                    }

                    foreach (var s in sources)
                    {
                        Func<IServiceProvider, IInferenceStage> served = sp => sp.GetRequiredService<ModelRepository>().Models.First(m => m.Name == s.Name);
                        if (forwarding.NextSpec(parse) is null)
                        {
                            serving.AddStage(GraphPipeStageHost.SafeName(s.Name), served, isDefault: s.Name == defaultName);
                        }
                        else
                        {
                            forwarding.AddNextOnlyStage(serving, parse, s.Name, served, isDefault: s.Name == defaultName);
                        }
                    }
                });
            }
            catch (InvalidDataException ex)
            {
                throw new CliException(ex.Message);
            }
            catch (NotSupportedException ex)
            {
                throw new CliException($"--execution-provider: {ex.Message}");
            }

            await using (app)
            {
                return await ServerSettings.RunAsync(app, ct).ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>What each loaded model version is served behind: dynamic batching right around the model, its labels (top-k outputs), then the response cache.</summary>
    private static IInferenceStage Decorate(IServiceProvider services, ModelVersionInfo info, IInferenceStage stage, ICollection<IDisposable> owned, GraphPipe.Pipelines.BatchingOptions? batching, int k, string? labelsFrom)
    {
        var pipeline = new StagePipelineBuilder(stage);
        if (batching is not null)
        {
            try
            {
                // Built now, so a model that cannot batch is reported as a flag error; the version disposes the batcher.
                pipeline.AddBatching(batching, added: owned.Add).Build();
            }
            catch (ArgumentException ex)
            {
                foreach (var batcher in owned) batcher.Dispose();
                throw CliException.Usage($"--max-batch-size: {ex.Message}");
            }
        }

        if (info.LabelsPath is { } labelsPath)
        {
            pipeline.AddTopKLabels(TopKLabelsStage.ReadLabelsFile(labelsPath), k, labelsFrom);
        }

        // The file's hash is in the scope: a replaced file never answers from the old one's entries.
        return CacheSettings.Wrap(services, pipeline.Build(), $"{info.Name}@{info.Version}#{info.ContentHash}");
    }

    private static async Task<List<ModelSource>> ModelSourcesAsync(ParseResult parse, Option<string[]> model, Option<string?> repository, Option<string?> name, Option<string?> labels, Option<bool> demo, CancellationToken ct)
    {
        var paths = parse.GetValue(model) ?? [];
        var repositoryPath = parse.GetValue(repository);
        var labelsPath = parse.GetValue(labels);
        var modelName = parse.GetValue(name);
        var sources = new List<ModelSource>();
        if (parse.GetValue(demo))
        {
            if (paths.Length > 0 || repositoryPath is not null)
            {
                throw CliException.Usage("--model and --demo cannot be used together (GP_MODEL / GP_DEMO count too; so does --model-repository)");
            }

            var files = await EnsureDemoAsync(ct).ConfigureAwait(false);
            sources.Add(new ModelSource(modelName ?? DemoModel.ModelName, files.ModelPath, labelsPath ?? files.LabelsPath));
            return sources;
        }

        foreach (var text in paths)
        {
            ModelSource parsed;
            try
            {
                parsed = ModelSource.Parse(text);
            }
            catch (FormatException ex)
            {
                throw CliException.Usage($"--model: {ex.Message}");
            }

            if (!File.Exists(parsed.Path) && !Directory.Exists(parsed.Path))
            {
                throw new CliException($"--model: file '{parsed.Path}' does not exist");
            }

            sources.Add(parsed);
        }

        if (repositoryPath is not null)
        {
            try
            {
                sources.AddRange(ModelSource.FromRepository(repositoryPath));
            }
            catch (DirectoryNotFoundException ex)
            {
                throw new CliException($"--model-repository: {ex.Message}");
            }
        }

        if (sources.Count == 0)
        {
            throw CliException.Usage(repositoryPath is null
                ? "--model is required (or set GP_MODEL), or --model-repository DIR, or --demo for the bundled demo classifier"
                : $"--model-repository: '{repositoryPath}' holds no model directory (NAME/VERSION/model.onnx)");
        }

        if (sources.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw CliException.Usage($"--model: two models are named '{twice.Key}'; name them with NAME=PATH");
        }

        if (sources.Count > 1 && (modelName is not null || labelsPath is not null))
        {
            throw CliException.Usage("--name and --labels apply to a single model; with several, use NAME=PATH and a labels.txt beside each model.onnx");
        }

        if (labelsPath is not null && !File.Exists(labelsPath))
        {
            throw new CliException($"--labels: file '{labelsPath}' does not exist");
        }

        if (sources.Count == 1)
        {
            sources[0] = sources[0] with { Name = modelName ?? sources[0].Name, LabelsPath = labelsPath ?? sources[0].LabelsPath };
        }

        return sources;
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
}
