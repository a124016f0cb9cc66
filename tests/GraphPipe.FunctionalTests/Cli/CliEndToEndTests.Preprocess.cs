using GraphPipe.Client;

namespace GraphPipe.FunctionalTests;

/// <summary><c>graphpipe serve preprocess</c> as a child process (kept with the other CLI tests to share their process helpers).</summary>
public sealed partial class CliEndToEndTests
{
    [Fact]
    public async Task ServePreprocess_VggProfile_ServesMetadataAndPreprocessesAPhoto()
    {
        using var server = Start("serve", "preprocess", "--profile", "vgg", "--listen", "127.0.0.1:0", "--parallelism", "1");
        try
        {
            var url = await server.ServingAddressAsync("preprocess", StartupTimeout);
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, url);

            var metadata = await client.GetMetadataAsync(Ct).WaitAsync(StartupTimeout, Ct);
            var jpeg = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "images", "photos", "sample-500x375.jpg"));
            var output = await client.InferBytesAsync([jpeg], cancellationToken: Ct).WaitAsync(StartupTimeout, Ct);

            Assert.Equal("preprocess", metadata.Name);
            Assert.Equal([-1L, 224, 224, 3], Assert.Single(metadata.Outputs).Shape);
            Assert.Equal([1L, 224, 224, 3], output.Shape);
            // Against the independent Pillow + NumPy reference (BGR order, mean subtraction, stretch, NHWC).
            Preprocess.PreprocessGoldenTests.AssertMatchesGolden("sample-500x375.jpg", GraphPipe.Imaging.PreprocessProfile.Get("vgg"), output.ToArray<float>());
        }
        finally
        {
            await server.KillAsync();
        }
    }

    [Fact]
    public async Task ServePreprocess_NextIsAnNhwcModel_AdaptsTheLayoutAndForwards()
    {
        await using var model = await LoopbackServer.StartOnnxAsync("vgg_like.onnx");
        // resnet18 is NCHW; vgg_like takes [N,224,224,3], so the command must switch to NHWC on its own.
        using var server = Start("serve", "preprocess", "--listen", "127.0.0.1:0", "--next", model.Address.ToString(), "--parallelism", "1");
        try
        {
            var url = await server.ServingAddressAsync("preprocess", StartupTimeout);
            using var http = new HttpClient();
            var client = new GraphPipeClient(http, url);
            var jpeg = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "images", "photos", "rocket.jpg"));

            var metadata = await client.GetMetadataAsync(Ct).WaitAsync(StartupTimeout, Ct);
            var probs = await client.InferBytesAsync([jpeg, jpeg], cancellationToken: Ct).WaitAsync(StartupTimeout, Ct);

            Assert.Equal([-1L, 224, 224, 3], Assert.Single(metadata.Outputs).Shape);
            Assert.Contains("takes input: float32[-1,224,224,3]", server.Stdout, StringComparison.Ordinal);
            Assert.Equal([2L, 1000], probs.Shape);
            Assert.Equal(1.0, probs.ToArray<float>()[..1000].Sum(), 3);
        }
        finally
        {
            await server.KillAsync();
        }
    }
}
