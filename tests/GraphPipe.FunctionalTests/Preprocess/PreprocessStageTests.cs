using System.Text;
using GraphPipe.Imaging;
using GraphPipe.Stages;
using SkiaSharp;
using static GraphPipe.FunctionalTests.Preprocess.TestImages;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>The stage in process: batching, metadata, and every way an image can be refused.</summary>
public sealed class PreprocessStageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StageRequest Request(params byte[][] images)
        => new(["images"], [Tensor.FromStrings(images.Select(i => (ReadOnlyMemory<byte>)i).ToArray())], ["input"], string.Empty);

    private static async Task<StageError> FailAsync(ImagePreprocessorStage stage, StageRequest request)
    {
        using var result = await stage.InferAsync(request, Ct);
        Assert.False(result.IsSuccess, "expected a failure");
        Assert.Equal(StageErrorKind.InvalidInput, result.Error!.Kind);
        return result.Error;
    }

    private static byte[] SmallPng()
    {
        using var image = Quadrants(64, 48);
        return Png(image);
    }

    [Fact]
    public void Metadata_Resnet18Default_DescribesStringImagesInAndNchwFloatOut()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());

        var input = Assert.Single(stage.Metadata.Inputs);
        var output = Assert.Single(stage.Metadata.Outputs);
        Assert.Equal("preprocess", stage.Metadata.Name);
        Assert.Equal(("images", TensorType.String), (input.Name, input.Type));
        Assert.Equal([-1L], input.Shape);
        Assert.Equal(("input", TensorType.Float32), (output.Name, output.Type));
        Assert.Equal([-1L, 3, 224, 224], output.Shape);
    }

    [Fact]
    public void Metadata_VggProfile_DescribesNhwcOutput()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = PreprocessProfile.Get("vgg") });

        Assert.Equal([-1L, 224, 224, 3], stage.Metadata.Outputs[0].Shape);
    }

    [Fact]
    public async Task InferAsync_BatchOfMixedFormats_StacksImagesInRequestOrder()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxDegreeOfParallelism = 4 });
        var p = stage.Profile;
        var images = new[] { SmallPng(), ReadPhoto("sample-500x375.jpg"), TwoFrameGif(4, 4, Blue, Red), ReadPhoto("chelsea.png"), ReadPhoto("rocket.jpg") };

        using var result = await stage.InferAsync(Request(images), Ct);

        Assert.True(result.IsSuccess, result.Error?.Message);
        var tensor = Assert.Single(result.Outputs);
        Assert.Equal([5L, 3, 224, 224], tensor.Shape);
        var values = tensor.AsSpan<float>();
        for (var i = 0; i < images.Length; i++)
        {
            var alone = TestImages.Run(images[i], p);
            Assert.True(values.Slice(i * alone.Length, alone.Length).SequenceEqual(alone), $"image {i} differs from its single-image result");
        }
    }

    [Fact]
    public async Task InferAsync_RepeatedRequests_ReuseReturnedBuffersWithoutCorruption()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxDegreeOfParallelism = 2 });
        // Two different images, their order swapped every request: a stale or shared buffer shows in either half.
        var first = SmallPng();
        using var other = Quadrants(37, 23, 11, 17);
        var second = Png(other);
        var expectedFirst = TestImages.Run(first, stage.Profile);
        var expectedSecond = TestImages.Run(second, stage.Profile);
        Assert.False(expectedFirst.AsSpan().SequenceEqual(expectedSecond), "the two test images must preprocess differently");

        for (var i = 0; i < 20; i++)
        {
            var swapped = i % 2 == 1;
            using var result = await stage.InferAsync(swapped ? Request(second, first) : Request(first, second), Ct);
            Assert.True(result.IsSuccess, result.Error?.Message);
            var values = result.Outputs[0].AsSpan<float>();
            Assert.Equal(2 * expectedFirst.Length, values.Length);
            Assert.True(values[..expectedFirst.Length].SequenceEqual(swapped ? expectedSecond : expectedFirst), $"request {i}: image 0 differs");
            Assert.True(values[expectedFirst.Length..].SequenceEqual(swapped ? expectedFirst : expectedSecond), $"request {i}: image 1 differs");
        }
    }

    [Fact]
    public async Task InferAsync_BatchWhoseSecondImageIsCorrupt_FailsNamingImage1()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        var garbage = new byte[4000];
        new Random(7).NextBytes(garbage);

        var error = await FailAsync(stage, Request(SmallPng(), garbage, SmallPng()));

        Assert.StartsWith("image 1: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a supported image (JPEG, PNG, GIF, BMP, WebP)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_TruncatedJpeg_FailsAsCorruptJpeg()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        var jpeg = ReadPhoto("sample-500x375.jpg");

        var error = await FailAsync(stage, Request(jpeg.AsSpan(0, jpeg.Length / 2).ToArray()));

        Assert.StartsWith("image 0: corrupt JPEG", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_JpegWithGarbledHeader_FailsAsCorruptJpeg()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        var jpeg = ReadPhoto("sample-500x375.jpg");
        var broken = jpeg.AsSpan(0, 3).ToArray().Concat(Enumerable.Repeat((byte)0x17, 600)).Concat(jpeg.Skip(603)).ToArray();

        var error = await FailAsync(stage, Request(broken));

        Assert.StartsWith("image 0: corrupt JPEG", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_EmptyString_FailsSayingTheImageIsEmpty()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());

        var error = await FailAsync(stage, Request(SmallPng(), []));

        Assert.Equal("image 1: empty (0 bytes), expected an encoded image", error.Message);
    }

    [Fact]
    public async Task InferAsync_PngHeaderClaiming50000x50000_FailsBeforeDecoding()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());

        var error = await FailAsync(stage, Request(PngHeaderOnly(50000, 50000)));

        Assert.Equal("image 0: 50000x50000 pixels exceeds the limit of 40000000", error.Message);
    }

    [Fact]
    public async Task InferAsync_JpegOverASmallPixelLimit_FailsNamingSizeAndLimit()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxPixels = 100_000 });

        var error = await FailAsync(stage, Request(ReadPhoto("rocket.jpg")));

        Assert.Equal("image 0: 640x427 pixels exceeds the limit of 100000", error.Message);
    }

    [Fact]
    public async Task InferAsync_WebPOverASmallPixelLimit_FailsNamingSizeAndLimit()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxPixels = 1000 });
        using var image = Quadrants(64, 64);

        var error = await FailAsync(stage, Request(WebPLossless(image)));

        Assert.Equal("image 0: 64x64 pixels exceeds the limit of 1000", error.Message);
    }

    [Fact]
    public async Task InferAsync_FloatInput_FailsNamingTheInputAndStringType()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        var request = new StageRequest(["images"], [Tensor.Create<float>([1f, 2f], 2)], ["input"], string.Empty);

        var error = await FailAsync(stage, request);

        Assert.Contains("input 'images'", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected type string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_EmptyBatch_Fails()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());

        var error = await FailAsync(stage, Request());

        Assert.Contains("empty batch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_MoreImagesThanTheLimit_Fails()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxImagesPerRequest = 2 });
        var png = SmallPng();

        var error = await FailAsync(stage, Request(png, png, png));

        Assert.Contains("3 images exceed max images per request (2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_TextThatLooksLikeNoImage_FailsAsUnsupported()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());

        var error = await FailAsync(stage, Request(Encoding.UTF8.GetBytes("https://example.com/cat.jpg")));

        Assert.Equal("image 0: not a supported image (JPEG, PNG, GIF, BMP, WebP)", error.Message);
    }

    [Fact]
    public void Get_UnknownProfile_ThrowsListingKnownNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => PreprocessProfile.Get("inception"));

        Assert.Contains("vgg, imagenet, resnet18", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_CallerChangesTheMeanArray_BuiltInProfileIsUnchanged()
    {
        var first = PreprocessProfile.Get("vgg");
        first.Mean[0] = 0f;

        Assert.Equal(103.939f, PreprocessProfile.Get("vgg").Mean[0]);
    }

    [Fact]
    public void Preprocess_DestinationTooSmall_ThrowsArgumentException()
    {
        var p = PreprocessProfile.Get("resnet18");

        Assert.Throws<ArgumentException>(() => ImagePreprocessor.Preprocess(SmallPng(), p, new float[10]));
    }

    [Fact]
    public void Constructor_CropSmallerThanTheOutput_Throws()
    {
        var profile = PreprocessProfile.Get("imagenet").With(resizeShorterSide: 100);

        Assert.Throws<ArgumentException>(() => new ImagePreprocessorStage(new ImagePreprocessorOptions { Profile = profile }));
    }

    [Fact]
    public async Task InferAsync_CancelledToken_Throws()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stage.InferAsync(Request(SmallPng()), cts.Token));
    }

    [Fact]
    public async Task InferAsync_BitmapWithOddSize_Works()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions());
        using var image = new SKBitmap(new SKImageInfo(1, 3, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        image.Erase(new SKColor(9, 8, 7));

        using var result = await stage.InferAsync(Request(Png(image)), Ct);

        Assert.True(result.IsSuccess, result.Error?.Message);
        // resnet18: RGB planes (NCHW), raw 0..255: plane 0 is all red, plane 1 all green, plane 2 all blue.
        var planes = result.Outputs[0].ToArray<float>().Chunk(224 * 224).ToArray();
        Assert.Equal([9f, 8f, 7f], planes.Select(c => c.Distinct().Single()));
    }
}
