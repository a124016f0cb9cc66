using System.Net;
using GraphPipe.Client;
using GraphPipe.Imaging;
using GraphPipe.Pipelines;
using GraphPipe.Stages;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>The preprocessor behind a real Kestrel front door: standalone, server sequencing and hybrid sequencing.</summary>
public sealed class PreprocessServingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static KeyValuePair<string, Tensor>[] Images(params byte[][] images)
        => [new("images", Tensor.FromStrings(images.Select(i => (ReadOnlyMemory<byte>)i).ToArray()))];

    private static ForwardingStage Forwarding(IInferenceStage inner, Uri? next, HttpClient http)
        => new(inner, next is null ? null : new GraphPipeNextStage(http, next), new GraphPipeNextStageResolver(http, NetworkPolicy.AllowAll));

    [Fact]
    public async Task Standalone_TwoPhotos_ReturnsTheBatchTensorAndMetadata()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        await using var server = await LoopbackServer.StartAsync(stage);
        var jpeg = ReadPhoto("sample-500x375.jpg");
        var png = ReadPhoto("chelsea.png");

        var metadata = await server.Client.GetMetadataAsync(Ct).WaitAsync(Limits.Step, Ct);
        var outputs = await server.Client.InferAsync(Images(jpeg, png), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal("images", Assert.Single(metadata.Inputs).Name);
        Assert.Equal([-1L, 3, 224, 224], Assert.Single(metadata.Outputs).Shape);
        var tensor = Assert.Single(outputs);
        Assert.Equal(TensorType.Float32, tensor.Type);
        Assert.Equal([2L, 3, 224, 224], tensor.Shape);
        var values = tensor.ToArray<float>();
        Assert.Equal(TestImages.Run(jpeg, stage.Profile), values[..(3 * 224 * 224)]);
        Assert.Equal(TestImages.Run(png, stage.Profile), values[(3 * 224 * 224)..]);
    }

    [Fact]
    public async Task Standalone_BatchWithBadSecondImage_Answers400NamingImage1()
    {
        await using var server = await LoopbackServer.StartAsync(new ImagePreprocessorStage(new ImagePreprocessorOptions()));
        var good = ReadPhoto("rocket.jpg");

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => server.Client.InferAsync(Images(good, "not an image"u8.ToArray(), good), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("[preprocess] image 1: not a supported image", ex.RemoteMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standalone_CorruptJpegThenGoodJpeg_SecondRequestSucceeds()
    {
        await using var server = await LoopbackServer.StartAsync(new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxDegreeOfParallelism = 1 }));
        var good = ReadPhoto("sample-500x375.jpg");
        var bad = good.AsSpan(0, 2000).ToArray();

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => server.Client.InferAsync(Images(bad), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));
        var outputs = await server.Client.InferAsync(Images(good), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("image 0: corrupt JPEG", ex.RemoteMessage, StringComparison.Ordinal);
        Assert.Equal([1L, 3, 224, 224], Assert.Single(outputs).Shape);
    }

    [Fact]
    public async Task Standalone_DecompressionBomb_Answers400()
    {
        await using var server = await LoopbackServer.StartAsync(new ImagePreprocessorStage(new ImagePreprocessorOptions()));

        var ex = await Assert.ThrowsAsync<GraphPipeException>(() => server.Client.InferAsync(Images(PngHeaderOnly(50000, 50000)), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        Assert.Equal(HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("image 0: 50000x50000 pixels exceeds the limit of 40000000", ex.RemoteMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerSequencing_VggProfileForwardingToVggLikeModel_EqualsPreprocessThenModel()
    {
        await using var model = await LoopbackServer.StartOnnxAsync("vgg_like.onnx");
        using var http = new HttpClient();
        var preprocess = new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = PreprocessProfile.Get("vgg") });
        await using var front = await LoopbackServer.StartAsync(Forwarding(preprocess, model.Address, http));
        var images = new[] { ReadPhoto("sample-500x375.jpg"), ReadPhoto("rocket.jpg") };

        var probs = Assert.Single(await front.Client.InferAsync(Images(images), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        // The same thing done by hand: preprocess here, send the tensor to the model.
        var tensor = new float[2 * 224 * 224 * 3];
        ImagePreprocessor.Preprocess(images[0], preprocess.Profile, tensor.AsSpan(0, 224 * 224 * 3));
        ImagePreprocessor.Preprocess(images[1], preprocess.Profile, tensor.AsSpan(224 * 224 * 3));
        var expected = await model.Client.InferAsync(Tensor.Create<float>(tensor, 2, 224, 224, 3), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        Assert.Equal([2L, 1000], probs.Shape);
        Assert.Equal(expected.ToArray<float>(), probs.ToArray<float>());
        Assert.Equal(1.0, probs.ToArray<float>()[..1000].Sum(), 3);
    }

    [Fact]
    public async Task HybridSequencing_NextStageInConfig_ForwardsToIt()
    {
        var captured = new List<Tensor>();
        var capture = new DelegateStage("capture", (request, _) =>
        {
            lock (captured) captured.Add(request.Inputs[0].Clone());
            return ValueTask.FromResult(DelegateStage.Echo(request));
        });
        await using var next = await LoopbackServer.StartAsync(capture);
        using var http = new HttpClient();
        var preprocess = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        await using var front = await LoopbackServer.StartAsync(Forwarding(preprocess, next: null, http));
        var png = ReadPhoto("chelsea.png");

        var viaConfig = Assert.Single(await front.Client.InferAsync(Images(png), config: next.Address.ToString(), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));
        var direct = Assert.Single(await front.Client.InferAsync(Images(png), cancellationToken: Ct).WaitAsync(Limits.Step, Ct));

        var seen = Assert.Single(captured);
        Assert.Equal([1L, 3, 224, 224], seen.Shape);
        Assert.Equal(direct.ToArray<float>(), seen.ToArray<float>());
        Assert.Equal(direct.ToArray<float>(), viaConfig.ToArray<float>());
    }

    [Fact]
    public async Task Standalone_ManyConcurrentRequests_AllMatchTheSingleImageResult()
    {
        await using var server = await LoopbackServer.StartAsync(new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxDegreeOfParallelism = 2 }));
        var photos = new[] { "sample-500x375.jpg", "rocket.jpg", "chelsea.png", "camera-gray-512.jpg" }.Select(ReadPhoto).ToArray();
        var profile = PreprocessProfile.Get("resnet18");
        var expected = photos.Select(p => TestImages.Run(p, profile)).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var outputs = await server.Client.InferAsync(Images(photos[i % 4], photos[(i + 1) % 4]), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
            return (i, values: outputs[0].ToArray<float>());
        }));

        foreach (var (i, values) in results)
        {
            Assert.Equal(expected[i % 4], values[..expected[0].Length]);
            Assert.Equal(expected[(i + 1) % 4], values[expected[0].Length..]);
        }
    }
}
