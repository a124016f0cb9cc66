using GraphPipe.Pipelines;

namespace GraphPipe.Stages;

/// <summary>A request bound to a stage: every input has its resolved name, the outputs are explicit.</summary>
public sealed class StageRequest
{
    private PipelineRoute? _route;

    public StageRequest(IReadOnlyList<string> inputNames, IReadOnlyList<Tensor> inputs, IReadOnlyList<string> outputNames, string config)
    {
        ArgumentNullException.ThrowIfNull(inputNames);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputNames);
        if (inputNames.Count != inputs.Count)
        {
            throw new ArgumentException("Each input needs a name.", nameof(inputNames));
        }

        InputNames = inputNames;
        Inputs = inputs;
        OutputNames = outputNames;
        Config = config ?? string.Empty;
    }

    public IReadOnlyList<string> InputNames { get; }

    public IReadOnlyList<Tensor> Inputs { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The request's opaque config (in hybrid sequencing: the next stage's URL).</summary>
    public string Config { get; }

    /// <summary>The config read as a route (hybrid sequencing); parsed on first use, once per request.</summary>
    public PipelineRoute Route
    {
        get => _route ??= PipelineRoute.Parse(Config);
        set => _route = value;
    }

    /// <summary>
    /// When the request must be answered (the smaller of the host's timeout and the caller's remaining
    /// budget); <see cref="StageDeadline.None"/> when nobody set one. Forwarding passes what is left on;
    /// retries stay within it.
    /// </summary>
    public StageDeadline Deadline { get; set; }

    /// <summary>Where decorators record the time they spend (reported in <c>Server-Timing</c>); null when nobody listens.</summary>
    public StageTimings? Timings { get; set; }

    /// <summary>The input with this name, or null.</summary>
    public Tensor? FindInput(string name)
    {
        for (var i = 0; i < InputNames.Count; i++)
        {
            if (string.Equals(InputNames[i], name, StringComparison.Ordinal))
            {
                return Inputs[i];
            }
        }

        return null;
    }
}
