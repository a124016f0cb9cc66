using GraphPipe.Client;
using Demo = GraphPipe.Models.DemoModel;

namespace GraphPipe.FunctionalTests.DemoModel;

/// <summary><c>graphpipe serve onnx --demo</c> as a child process (sharing the fixture's cache, so it does not re-assemble).</summary>
public sealed partial class DemoModelTests
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ServeOnnxDemo_Cli_ServesMetadataAndTopLabelsOfTheDemoModel()
    {
        var ct = TestContext.Current.CancellationToken;
        using var child = StartCli("serve", "onnx", "--demo", "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
        try
        {
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, await child.ServingAddressAsync(Demo.ModelName, StartupTimeout));
            var metadata = await client.GetMetadataAsync(ct).WaitAsync(Limits.Step, ct);

            Assert.Equal(Demo.ModelName, metadata.Name);
            var input = Assert.Single(metadata.Inputs);
            Assert.Equal(Demo.InputName, input.Name);
            Assert.Equal([-1L, 3, 224, 224], input.Shape);
            Assert.Equal(["top_labels", "top_scores", Demo.ProbsOutput, Demo.FeaturesOutput], metadata.Outputs.Select(o => o.Name));
            Assert.Equal([-1L, 5], metadata.Outputs[0].Shape);
            Assert.Equal([-1L, 10], metadata.Outputs[2].Shape);

            // One sample the model gets right (0002, a trouser): the served top label names it.
            var sample = fixture.Samples.Single(s => s.File == "0002-trouser.png");
            var outputs = await client.InferAsync(
                [new(Demo.InputName, Tensor.Create<float>(sample.Input, 1, 3, 224, 224))],
                ["top_labels", "top_scores"],
                cancellationToken: ct).WaitAsync(Limits.Step, ct);
            Assert.Equal([1L, 5], outputs[0].Shape);
            Assert.Equal("Trouser", outputs[0].ToStringArray()[0]);
            var scores = outputs[1].ToArray<float>();
            Assert.True(scores[0] > 0.1f && scores.SequenceEqual(scores.OrderDescending()), string.Join(", ", scores));
        }
        finally
        {
            await child.KillAsync();
        }
    }

    [Fact]
    public async Task ServeOnnxDemo_WithModel_ExitsTwoSayingTheyExcludeEachOther()
    {
        var run = await CliProcess.RunAsync(
            CliProcess.GraphPipeDll,
            ["serve", "onnx", "--demo", "--model", "x.onnx", "--listen", "127.0.0.1:0"],
            CacheEnvironment,
            StartupTimeout);

        // Flags that exclude each other are a usage error: exit code 2.
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--model and --demo", run.Stderr, StringComparison.Ordinal);
    }

    /// <summary>Points the child at the fixture's demo-model cache.</summary>
    private Dictionary<string, string> CacheEnvironment => new() { [Demo.CacheDirectoryVariable] = fixture.CacheDirectory };

    private CliProcess StartCli(params string[] args) => CliProcess.Start(CliProcess.GraphPipeDll, args, CacheEnvironment);
}
