using System.CommandLine;
using GraphPipe.Onnx;
using Microsoft.Extensions.DependencyInjection;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe serve ...</c>: one subcommand per stage kind.</summary>
internal static class ServeCommands
{
    public static Command Create()
    {
        var serve = new Command("serve", "Serve a stage over GraphPipe");
        serve.Add(Onnx());
        return serve;
    }

    private static Command Onnx()
    {
        var settings = new ServerSettings();
        var model = CliOptions.EnvString("--model", "GP_MODEL", "Path of the .onnx model to serve", null, "-m");
        var engines = CliOptions.Env("--engine-count", "GP_ENGINE_COUNT", "Parallel model instances (sessions)", 1);
        var threads = CliOptions.Env("--intra-op-threads", "GP_INTRA_OP_THREADS", "Threads per session inside an operator (0: one per core)", 0);
        var name = CliOptions.EnvString("--name", "GP_NAME", "Name reported in metadata (default: the file name)", null);
        var command = new Command("onnx", "Serve an ONNX model with ONNX Runtime") { model, engines, threads, name };
        settings.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(model) ?? throw new CliException("--model is required (or set GP_MODEL)");
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
                    Name = parse.GetValue(name),
                    EngineCount = parse.GetValue(engines),
                    IntraOpThreads = parse.GetValue(threads),
                });
            }
            catch (Exception ex) when (ex is InvalidDataException or System.ComponentModel.DataAnnotations.ValidationException)
            {
                throw new CliException(ex.Message);
            }

            using (stage)
            {
                await using var app = settings.Build(parse, services => services.AddSingleton<GraphPipe.Stages.IInferenceStage>(stage));
                return await ServerSettings.RunAsync(app, ct).ConfigureAwait(false);
            }
        });
        return command;
    }
}
