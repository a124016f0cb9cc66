using GraphPipe.Pipelines;
using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>Decorators compose in the order they are added: each wraps what came before.</summary>
public sealed class StagePipelineBuilderTests
{
    private sealed class Scores : IInferenceStage
    {
        public StageMetadata Metadata { get; } = new()
        {
            Name = "scores",
            Inputs = [new IOMetadata("x", TensorType.Float32, [-1])],
            Outputs = [new IOMetadata("probs", TensorType.Float32, [-1, 3])],
        };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
            => ValueTask.FromResult(StageResult.Success([Tensor.Create<float>([0.1f, 0.7f, 0.2f], 1, 3)]));
    }

    private sealed class Prefixing(IInferenceStage inner, string prefix) : IInferenceStage
    {
        public IInferenceStage Inner => inner;

        public StageMetadata Metadata { get; } = new() { Name = prefix + inner.Metadata.Name, Inputs = inner.Metadata.Inputs, Outputs = inner.Metadata.Outputs };

        public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => inner.InferAsync(request, cancellationToken);
    }

    [Fact]
    public void Build_DecoratorsAdded_EachWrapsWhatCameBefore()
    {
        var built = new StagePipelineBuilder(new Scores())
            .Add(s => new Prefixing(s, "a."))
            .Add(s => new Prefixing(s, "b."))
            .Build();

        Assert.Equal("b.a.scores", built.Metadata.Name);
    }

    [Fact]
    public async Task Build_TopKLabelsThenForwarding_ForwardingOutermostAndLabelsComputed()
    {
        var built = new StagePipelineBuilder(new Scores()).AddTopKLabels(["cat", "dog", "fox"], k: 2).AddForwarding(next: null, fromConfig: null).Build();

        var forwarding = Assert.IsType<ForwardingStage>(built);
        Assert.IsType<TopKLabelsStage>(forwarding.Inner);
        using var result = await built.InferAsync(new StageRequest(["x"], [Tensor.Create<float>([1f], 1)], [TopKLabelsStage.LabelsOutput], string.Empty), TestContext.Current.CancellationToken);
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(["dog", "fox"], result.Outputs[0].ToStringArray());
    }

    [Fact]
    public void Build_DecoratorReturnsNull_Throws()
    {
        var builder = new StagePipelineBuilder(new Scores()).Add(_ => null!);

        Assert.Throws<InvalidOperationException>(builder.Build);
    }
}
