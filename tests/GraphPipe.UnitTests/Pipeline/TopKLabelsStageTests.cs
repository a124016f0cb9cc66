using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

public sealed class TopKLabelsStageTests
{
    private sealed class FixedScores(float[] scores, int classes) : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new()
        {
            Name = "fixed",
            Inputs = [new IOMetadata("x", TensorType.Float32, [-1])],
            Outputs = [new IOMetadata("probs", TensorType.Float32, [-1, classes]), new IOMetadata("features", TensorType.Float32, [-1, 2])],
        };

        public List<IReadOnlyList<string>> Asked { get; } = [];

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        {
            Asked.Add(request.OutputNames);
            var rows = scores.Length / classes;
            var outputs = request.OutputNames.Select(n => n == "probs"
                ? Tensor.Create<float>(scores, rows, classes)
                : Tensor.Create<float>(new float[rows * 2], rows, 2)).ToArray();
            return ValueTask.FromResult(StageResult.Success(outputs));
        }
    }

    private static StageRequest Request(params string[] outputs)
        => new(["x"], [Tensor.Create<float>([0f, 0f], 2)], outputs, string.Empty);

    [Fact]
    public async Task InferAsync_TopLabels_SortedByScorePerRow()
    {
        var inner = new FixedScores([0.1f, 0.7f, 0.2f, /* row 2 */ 0.5f, 0.1f, 0.4f], 3);
        var stage = new TopKLabelsStage(inner, ["cat", "dog", "fox"], 2);

        using var result = await stage.InferAsync(Request("top_labels", "top_scores", "probs"), TestContext.Current.CancellationToken);

        Assert.True(result.IsSuccess);
        Assert.Equal(["dog", "fox", "cat", "fox"], result.Outputs[0].ToStringArray());
        Assert.Equal([2L, 2], result.Outputs[0].Shape.ToArray());
        Assert.Equal([0.7f, 0.2f, 0.5f, 0.4f], result.Outputs[1].ToArray<float>());
        Assert.Equal(6, result.Outputs[2].ElementCount);
        Assert.Equal(["probs"], inner.Asked.Single());
    }

    [Fact]
    public async Task InferAsync_OnlyModelOutputs_PassesThroughUntouched()
    {
        var inner = new FixedScores([1f, 0f], 2);
        var stage = new TopKLabelsStage(inner, ["a", "b"], 5);

        using var result = await stage.InferAsync(Request("features"), TestContext.Current.CancellationToken);

        Assert.Equal(["features"], inner.Asked.Single());
        Assert.Equal(TensorType.Float32, Assert.Single(result.Outputs).Type);
    }

    [Fact]
    public void Metadata_DefaultOutputs_LabelsFirstAndKClampedToClasses()
    {
        var stage = new TopKLabelsStage(new FixedScores([1f, 0f], 2), ["a", "b"], 5);
        Assert.Equal(["top_labels", "top_scores", "probs", "features"], stage.Metadata.Outputs.Select(o => o.Name));
        Assert.Equal([-1L, 2], stage.Metadata.Outputs[0].Shape.ToArray());
    }

    [Fact]
    public void Constructor_LabelCountMismatch_ExplainsIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TopKLabelsStage(new FixedScores([1f, 0f, 0f], 3), ["a", "b"], 1));
        Assert.Contains("3 classes but 2 labels", ex.Message, StringComparison.Ordinal);
    }
}
