using System.Net;
using System.Text.Json;
using GraphPipe.Client;
using GraphPipe.Tests;

namespace GraphPipe.FunctionalTests;

/// <summary><c>serve onnx</c> with several models and the response cache, as a user starts it.</summary>
public sealed partial class CliEndToEndTests
{
    [Fact]
    public async Task ServeOnnx_TwoModelsAndCache_EachAtItsPathDefaultOnRootRepeatsFromCache()
    {
        using var server = Start("serve", "onnx", "--model", "relu=" + TestModels.Path("fixed_batch.onnx"), "--model", "am=" + TestModels.Path("add_mul.onnx"),
            "--default-model", "am", "--cache-size", "1MB", "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
        var url = new Uri(await server.ServingUrl.WaitAsync(StartupTimeout, Ct) + "/");
        Assert.Equal("am", server.ServingName);
        using var http = new HttpClient();

        using (var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(url, "relu/versions/1"), Ct).WaitAsync(StartupTimeout, Ct)))
        {
            Assert.Equal("relu", json.RootElement.GetProperty("name").GetString());
            Assert.Equal("1", json.RootElement.GetProperty("version").GetString());
        }

        var relu = await new GraphPipeClient(http, new Uri(url, "relu")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct);
        var root = await new GraphPipeClient(http, url).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct);
        var again = await new GraphPipeClient(http, url).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct);
        var metrics = await http.GetStringAsync(new Uri(url, "metrics"), Ct).WaitAsync(StartupTimeout, Ct);

        Assert.Equal([0f, 2f, 0f, 4f], relu);
        Assert.Equal([-1f, 5f, -5f, 9f], root);
        Assert.Equal(root, again);
        Assert.Matches(@"graphpipe_cache_hits_total\{[^}]*graphpipe_stage=""am""[^}]*\} 1\b", metrics);
    }

    [Theory]
    [InlineData("--cache-size", "lots", "--cache-size: 'lots' is not a size")]
    [InlineData("--cache-redis", "127.0.0.1:6379", "--cache-redis needs --cache-size")]
    [InlineData("--default-model", "nope", "--default-model: no model is named 'nope'")]
    public async Task ServeOnnx_InvalidModelOrCacheFlag_ExitsTwoWithOneLine(string flag, string value, string expected)
    {
        var run = await RunAsync("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", "127.0.0.1:0", flag, value).WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains(expected, Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }
}
