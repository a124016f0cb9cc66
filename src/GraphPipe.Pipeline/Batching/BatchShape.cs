using GraphPipe.Stages;

namespace GraphPipe.Pipelines;

/// <summary>Which requests a batch may merge: rows of numeric tensors that agree on everything but dimension 0.</summary>
internal static class BatchShape
{
    /// <summary>
    /// The request's rows when it can join a batch: every input numeric, of rank 1 or more, sharing dimension 0,
    /// and fitting the stage's metadata (a request that does not is passed through, for the stage to answer).
    /// </summary>
    public static bool TryGetRows(StageRequest request, StageMetadata metadata, out long rows)
    {
        rows = 0;
        var inputs = request.Inputs;
        if (inputs.Count == 0 || inputs.Count != metadata.Inputs.Count)
        {
            return false;
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            var tensor = inputs[i];
            if (tensor.IsString || tensor.Shape.Length == 0)
            {
                return false;
            }

            if (i == 0)
            {
                rows = tensor.Shape[0];
            }
            else if (tensor.Shape[0] != rows)
            {
                return false;
            }

            if (metadata.Inputs.Find(request.InputNames[i]) is not { } expected || TensorChecks.Mismatch(expected, tensor) is not null)
            {
                return false;
            }
        }

        foreach (var name in request.OutputNames)
        {
            if (metadata.Outputs.Find(name) is null)
            {
                return false;
            }
        }

        return rows > 0;
    }

    /// <summary>Whether two batchable requests can run as one: same inputs and outputs asked, same config, same types and shapes beyond dimension 0.</summary>
    public static bool Compatible(StageRequest a, StageRequest b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Inputs.Count != b.Inputs.Count || a.OutputNames.Count != b.OutputNames.Count || !string.Equals(a.Config, b.Config, StringComparison.Ordinal))
        {
            return false;
        }

        for (var i = 0; i < a.OutputNames.Count; i++)
        {
            if (!string.Equals(a.OutputNames[i], b.OutputNames[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        for (var i = 0; i < a.Inputs.Count; i++)
        {
            var x = a.Inputs[i];
            var y = b.Inputs[i];
            if (!string.Equals(a.InputNames[i], b.InputNames[i], StringComparison.Ordinal) || x.Type != y.Type
                || !x.Shape.AsSpan()[1..].SequenceEqual(y.Shape.AsSpan()[1..]))
            {
                return false;
            }
        }

        return true;
    }
}
