using System.Collections.Immutable;
using System.Text;

namespace GraphPipe.Stages;

/// <summary>
/// Adds human-readable outputs to a classifier: <c>top_labels</c> (string [N,K]) and <c>top_scores</c>
/// (float32 [N,K]) computed from a score output ([N,C] float32, e.g. softmax probabilities), while the
/// wrapped stage's own outputs stay available by name.
/// </summary>
public sealed class TopKLabelsStage : IInferenceStage
{
    public const string LabelsOutput = "top_labels";
    public const string ScoresOutput = "top_scores";

    private readonly IInferenceStage _inner;
    private readonly string[] _labels;
    private readonly byte[][] _labelBytes;
    private readonly int _k;
    private readonly string _source;

    /// <param name="inner">The classifier.</param>
    /// <param name="labels">One label per class, in class-index order.</param>
    /// <param name="k">How many classes to return per row.</param>
    /// <param name="sourceOutput">The score output; null picks the first float32 output of rank 2.</param>
    public TopKLabelsStage(IInferenceStage inner, IReadOnlyList<string> labels, int k, string? sourceOutput = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0) throw new ArgumentException("At least one label is needed.", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        _labels = [.. labels];
        _labelBytes = _labels.Select(Encoding.UTF8.GetBytes).ToArray();
        _k = Math.Min(k, _labels.Length);
        var source = sourceOutput is null
            ? inner.Metadata.Outputs.FirstOrDefault(o => o.Type == TensorType.Float32 && o.Shape.Length == 2)
            : inner.Metadata.Outputs.Find(sourceOutput);
        if (source is null)
        {
            throw new ArgumentException(sourceOutput is null
                ? $"'{inner.Metadata.Name}' has no float32 [N,C] output to take labels from; outputs: {string.Join(", ", inner.Metadata.Outputs)}"
                : $"'{sourceOutput}' is not an output of '{inner.Metadata.Name}'; outputs: {string.Join(", ", inner.Metadata.Outputs)}");
        }

        if (source.Type != TensorType.Float32 || source.Shape.Length != 2)
        {
            throw new ArgumentException($"output {source} must be float32 [N,C] to take labels from");
        }

        if (source.Shape[1] > 0 && source.Shape[1] != _labels.Length)
        {
            throw new ArgumentException($"output {source} has {source.Shape[1]} classes but {_labels.Length} labels were given");
        }

        _source = source.Name;
        var inputs = inner.Metadata;
        // Default outputs: the labels and scores first (what a client wants), then the model's own.
        Metadata = new StageMetadata
        {
            Name = inputs.Name,
            Version = inputs.Version,
            Server = inputs.Server,
            Description = $"{inputs.Description}; top-{_k} labels from '{_source}'",
            Inputs = inputs.Inputs,
            Outputs =
            [
                new IOMetadata(LabelsOutput, TensorType.String, [-1, _k], $"top-{_k} class labels of '{_source}'"),
                new IOMetadata(ScoresOutput, TensorType.Float32, [-1, _k], $"scores of the top-{_k} labels"),
                .. inputs.Outputs,
            ],
        };
    }

    public StageMetadata Metadata { get; }

    public IReadOnlyList<string> Labels => _labels;

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var wanted = request.OutputNames;
        var innerOutputs = new List<string>(wanted.Count + 1);
        var sourceIndex = -1;
        foreach (var name in wanted)
        {
            if (name is LabelsOutput or ScoresOutput)
            {
                continue;
            }

            innerOutputs.Add(name);
        }

        if (wanted.Any(n => n is LabelsOutput or ScoresOutput))
        {
            sourceIndex = innerOutputs.IndexOf(_source);
            if (sourceIndex < 0)
            {
                innerOutputs.Add(_source);
                sourceIndex = innerOutputs.Count - 1;
            }
        }

        var result = await _inner.InferAsync(new StageRequest(request.InputNames, request.Inputs, innerOutputs, request.Config), cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess || sourceIndex < 0)
        {
            return result;
        }

        var scores = result.Outputs[sourceIndex];
        if (scores.Type != TensorType.Float32 || scores.Shape.Length != 2 || scores.Shape[1] != _labels.Length)
        {
            result.Dispose();
            return StageResult.Failure(StageErrorKind.Internal, $"output '{_source}' is {scores.Type.ToWireName()}{Echo.Shape(scores.Shape.AsSpan())}, expected float32[N,{_labels.Length}]");
        }

        var (labels, topScores) = TopK(scores);
        var outputs = new Tensor[wanted.Count];
        for (var i = 0; i < wanted.Count; i++)
        {
            outputs[i] = wanted[i] switch
            {
                LabelsOutput => labels,
                ScoresOutput => topScores,
                var name => result.Outputs[innerOutputs.IndexOf(name)],
            };
        }

        return StageResult.Success(outputs, result);
    }

    private (Tensor Labels, Tensor Scores) TopK(Tensor scores)
    {
        var rows = (int)scores.Shape[0];
        var classes = (int)scores.Shape[1];
        var values = scores.AsSpan<float>();
        var labels = new ReadOnlyMemory<byte>[rows * _k];
        var top = new float[rows * _k];
        Span<int> best = stackalloc int[_k];
        for (var r = 0; r < rows; r++)
        {
            var row = values.Slice(r * classes, classes);
            var filled = 0;
            for (var c = 0; c < classes; c++)
            {
                // Insertion into a small sorted list: K is tiny, classes at most a few thousand.
                var v = float.IsNaN(row[c]) ? float.NegativeInfinity : row[c];
                if (filled == _k && v <= row[best[_k - 1]])
                {
                    continue;
                }

                var pos = filled < _k ? filled++ : _k - 1;
                while (pos > 0 && v > row[best[pos - 1]])
                {
                    best[pos] = best[pos - 1];
                    pos--;
                }

                best[pos] = c;
            }

            for (var j = 0; j < _k; j++)
            {
                labels[(r * _k) + j] = _labelBytes[best[j]];
                top[(r * _k) + j] = row[best[j]];
            }
        }

        ImmutableArray<long> shape = [rows, _k];
        return (Tensor.FromStrings(labels, shape.AsSpan()), Tensor.Create<float>(top, rows, _k));
    }

    /// <summary>Reads a labels file: one label per line; blank trailing lines ignored.</summary>
    public static string[] ReadLabelsFile(string path)
    {
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return [.. lines];
    }
}
