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

    [Fact]
    public async Task ServeOnnx_RepositoryWithReload_NewVersionDirectoryServedAsLatestAndAtItsVersionPath()
    {
        var root = Directory.CreateTempSubdirectory("graphpipe-cli-repo-");
        try
        {
            static void Put(DirectoryInfo root, string version, string model)
            {
                var directory = Directory.CreateDirectory(Path.Combine(root.FullName, "m", version));
                var target = Path.Combine(directory.FullName, "model.onnx");
                File.Copy(TestModels.Path(model), target + ".tmp");
                File.Move(target + ".tmp", target); // renamed into place, as docs/model-repository.md asks
            }

            Put(root, "1", "add_mul.onnx");
            using var server = Start("serve", "onnx", "--model-repository", root.FullName, "--reload", "true", "--reload-poll", "200ms",
                "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
            var url = new Uri(await server.ServingUrl.WaitAsync(StartupTimeout, Ct) + "/");
            using var http = new HttpClient();
            Assert.Equal((float[])[-1f, 5f, -5f, 9f], await new GraphPipeClient(http, new Uri(url, "m")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));

            Put(root, "2", "fixed_batch.onnx");
            var deadline = DateTime.UtcNow + StartupTimeout;
            string version;
            do
            {
                await Task.Delay(100, Ct);
                using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri(url, "m"), Ct).WaitAsync(StartupTimeout, Ct));
                version = json.RootElement.GetProperty("version").GetString()!;
            }
            while (version != "2" && DateTime.UtcNow < deadline);

            Assert.Equal("2", version);
            Assert.Equal((float[])[0f, 2f, 0f, 4f], await new GraphPipeClient(http, new Uri(url, "m")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            Assert.Equal((float[])[0f, 2f, 0f, 4f], await new GraphPipeClient(http, new Uri(url, "m/versions/2")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            Assert.Equal((float[])[-1f, 5f, -5f, 9f], await new GraphPipeClient(http, new Uri(url, "m/versions/1")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            var metrics = await http.GetStringAsync(new Uri(url, "metrics"), Ct).WaitAsync(StartupTimeout, Ct);
            Assert.Matches(@"graphpipe_model_reloads[a-z_]*\{[^}]*graphpipe_model_version=""2""[^}]*outcome=""loaded""[^}]*\} 1\b", metrics);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ServeOnnx_RepositoryWithReload_NewModelDirectoryServedWithoutRestartOverGraphPipeAndOip()
    {
        var root = Directory.CreateTempSubdirectory("graphpipe-cli-repo-");
        try
        {
            static void Put(DirectoryInfo root, string name, string model)
            {
                var directory = Directory.CreateDirectory(Path.Combine(root.FullName, name, "1"));
                var target = Path.Combine(directory.FullName, "model.onnx");
                File.Copy(TestModels.Path(model), target + ".tmp");
                File.Move(target + ".tmp", target);
            }

            Put(root, "am", "add_mul.onnx");
            using var server = Start("serve", "onnx", "--model-repository", root.FullName, "--reload-poll", "200ms",
                "--listen", "127.0.0.1:0", "--intra-op-threads", "1");
            var url = new Uri(await server.ServingUrl.WaitAsync(StartupTimeout, Ct) + "/");
            using var http = new HttpClient();
            Assert.Equal((float[])[-1f, 5f, -5f, 9f], await new GraphPipeClient(http, url).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));

            Put(root, "relu", "fixed_batch.onnx");
            var deadline = DateTime.UtcNow + StartupTimeout;
            HttpStatusCode ready;
            do
            {
                await Task.Delay(100, Ct);
                using var response = await http.GetAsync(new Uri(url, "v2/models/relu/ready"), Ct).WaitAsync(StartupTimeout, Ct);
                ready = response.StatusCode;
            }
            while (ready != HttpStatusCode.OK && DateTime.UtcNow < deadline);

            Assert.Equal(HttpStatusCode.OK, ready);
            Assert.Equal((float[])[0f, 2f, 0f, 4f], await new GraphPipeClient(http, new Uri(url, "relu")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            Assert.Equal((float[])[0f, 2f, 0f, 4f], await new GraphPipeClient(http, new Uri(url, "relu/versions/1")).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            Assert.Equal((float[])[-1f, 5f, -5f, 9f], await new GraphPipeClient(http, url).InferFloatsAsync([-1f, 2f, -3f, 4f], [1, 4], cancellationToken: Ct));
            using var oip = JsonDocument.Parse(await http.GetStringAsync(new Uri(url, "v2/models/relu"), Ct).WaitAsync(StartupTimeout, Ct));
            Assert.Equal("relu", oip.RootElement.GetProperty("name").GetString());
        }
        finally
        {
            root.Delete(recursive: true);
        }
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
