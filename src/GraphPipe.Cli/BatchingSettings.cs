using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using GraphPipe.Onnx;
using GraphPipe.Pipelines;

namespace GraphPipe.Cli;

/// <summary><c>serve onnx</c>'s dynamic batching and execution provider flags (docs/batching.md).</summary>
internal sealed class BatchingSettings
{
    public readonly Option<int> MaxBatchSize = CliOptions.Env("--max-batch-size", "GP_MAX_BATCH_SIZE", "Dynamic batching: merge concurrent requests into runs of up to this many rows (0: off)", 0);
    public readonly Option<int> MaxQueueDelay = CliOptions.Env("--max-queue-delay", "GP_MAX_QUEUE_DELAY", "Dynamic batching: longest a request waits for companions, in microseconds, while more are expected (a lone client never waits)", 500);
    public readonly Option<string?> PreferredBatchSizes = CliOptions.EnvString("--preferred-batch-sizes", "GP_PREFERRED_BATCH_SIZES", "Dynamic batching: comma-separated row counts dispatched as soon as reached, e.g. 4,8", null);
    public readonly Option<string> ExecutionProvider = CliOptions.Env("--execution-provider", "GP_EXECUTION_PROVIDER", "Where ONNX Runtime runs the model: cpu or cuda (cuda needs the GPU build, see docs/batching.md)", "cpu");
    public readonly Option<int> DeviceId = CliOptions.Env("--device-id", "GP_DEVICE_ID", "The GPU --execution-provider cuda uses", 0);

    public void AddTo(Command command)
    {
        command.Add(MaxBatchSize);
        command.Add(MaxQueueDelay);
        command.Add(PreferredBatchSizes);
        command.Add(ExecutionProvider);
        command.Add(DeviceId);
    }

    /// <summary>The execution provider named by <c>--execution-provider</c>.</summary>
    public OnnxExecutionProvider Provider(ParseResult parse)
        => parse.GetValue(ExecutionProvider)?.Trim().ToLowerInvariant() switch
        {
            "cpu" => OnnxExecutionProvider.Cpu,
            "cuda" or "gpu" => OnnxExecutionProvider.Cuda,
            var other => throw CliException.Usage($"--execution-provider: '{other}' is not cpu or cuda"),
        };

    /// <summary>The batching options, or null when <c>--max-batch-size</c> is 0 (off). Usage errors name the flag.</summary>
    public BatchingOptions? Options(ParseResult parse, int engines)
    {
        var max = parse.GetValue(MaxBatchSize);
        if (max < 0)
        {
            throw CliException.Usage($"--max-batch-size: {max} is negative (0 turns batching off)");
        }

        if (max == 0)
        {
            return null;
        }

        var options = new BatchingOptions { MaxBatchSize = max, MaxQueueDelayMicroseconds = parse.GetValue(MaxQueueDelay), MaxConcurrentBatches = Math.Max(1, engines) };
        foreach (var item in CliOptions.SplitList(parse.GetValue(PreferredBatchSizes)))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                throw CliException.Usage($"--preferred-batch-sizes: '{item}' is not a row count");
            }

            options.PreferredBatchSizes.Add(size);
        }

        try
        {
            options.Validate();
        }
        catch (ValidationException ex)
        {
            var flag = ex.Message.Contains("preferred", StringComparison.OrdinalIgnoreCase) ? "--preferred-batch-sizes"
                : ex.Message.Contains(nameof(BatchingOptions.MaxQueueDelayMicroseconds), StringComparison.Ordinal) ? "--max-queue-delay" : "--max-batch-size";
            throw CliException.Usage($"{flag}: {ex.Message}");
        }

        return options;
    }
}
