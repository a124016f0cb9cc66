namespace GraphPipe.Stages;

/// <summary>
/// Applies GraphPipe's naming rules to a request: a missing or empty input name means the stage's
/// input at that position; empty output names mean the stage's default outputs; an empty or unknown
/// output name is an error. These are the reference servers' rules.
/// </summary>
public static class RequestBinder
{
    /// <summary>Binds <paramref name="request"/> to a stage's metadata, or returns the error that explains why not.</summary>
    /// <param name="defaultInputs">Input names used for positional defaults (usually the metadata's inputs).</param>
    /// <param name="defaultOutputs">Outputs used when the request names none.</param>
    /// <param name="passThroughOutputs">The request will be forwarded: its output names belong to a later stage and are kept unchecked.</param>
    public static StageRequest? Bind(InferRequest request, StageMetadata metadata, IReadOnlyList<string>? defaultInputs, IReadOnlyList<string>? defaultOutputs, out StageError? error, bool passThroughOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(metadata);
        error = null;
        var inputs = request.Inputs;
        if (inputs.Count == 0 && metadata.Inputs.Count > 0)
        {
            error = new StageError(StageErrorKind.InvalidInput, $"request has no input tensors; {Describe(metadata.Inputs)}");
            return null;
        }

        var names = new string[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            var name = i < request.InputNames.Count ? request.InputNames[i] : null;
            if (string.IsNullOrEmpty(name))
            {
                name = DefaultInputName(i, metadata, defaultInputs);
                if (name is null)
                {
                    error = new StageError(StageErrorKind.InvalidInput, $"input {i} has no name and the stage has no input at position {i}; {Describe(metadata.Inputs)}");
                    return null;
                }
            }
            else if (metadata.Inputs.Find(name) is null)
            {
                error = new StageError(StageErrorKind.InvalidInput, $"unknown input name '{Echo.Name(name)}'; {Describe(metadata.Inputs)}");
                return null;
            }

            for (var j = 0; j < i; j++)
            {
                if (names[j] == name)
                {
                    error = new StageError(StageErrorKind.InvalidInput, $"input '{Echo.Name(name)}' is given twice");
                    return null;
                }
            }

            names[i] = name;
        }

        IReadOnlyList<string> outputs;
        if (passThroughOutputs)
        {
            outputs = request.OutputNames;
        }
        else if (request.OutputNames.Count == 0)
        {
            outputs = defaultOutputs is { Count: > 0 } ? defaultOutputs : metadata.Outputs.Select(o => o.Name).ToArray();
        }
        else
        {
            for (var i = 0; i < request.OutputNames.Count; i++)
            {
                var name = request.OutputNames[i];
                if (string.IsNullOrEmpty(name))
                {
                    error = new StageError(StageErrorKind.InvalidInput, $"output name {i} is empty");
                    return null;
                }

                if (metadata.Outputs.Find(name) is null)
                {
                    error = new StageError(StageErrorKind.InvalidInput, $"unknown output name '{Echo.Name(name)}'; outputs are {string.Join(", ", metadata.Outputs.Select(o => o.Name))}");
                    return null;
                }
            }

            outputs = request.OutputNames;
        }

        return new StageRequest(names, inputs, outputs, request.Config);
    }

    /// <summary>The metadata entry with this name, or null.</summary>
    private static string? DefaultInputName(int position, StageMetadata metadata, IReadOnlyList<string>? defaults)
    {
        if (defaults is { Count: > 0 })
        {
            return position < defaults.Count ? defaults[position] : null;
        }

        return position < metadata.Inputs.Count ? metadata.Inputs[position].Name : null;
    }

    private static string Describe(IReadOnlyList<IOMetadata> inputs)
        => inputs.Count == 0 ? "the stage takes no inputs" : $"inputs are {string.Join(", ", inputs)}";
}
