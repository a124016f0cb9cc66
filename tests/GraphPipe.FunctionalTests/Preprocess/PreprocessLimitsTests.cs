using System.Net;
using GraphPipe.Imaging;
using GraphPipe.Stages;
using SkiaSharp;

namespace GraphPipe.FunctionalTests.Preprocess;

/// <summary>What one request may cost the preprocessor is bounded before anything is decoded.</summary>
public sealed class PreprocessLimitsTests
{
    // resnet18: 3 x 224 x 224 float32 per image.
    private const long BytesPerImage = 3 * 224 * 224 * 4;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] OnePixelPng()
    {
        using var bitmap = new SKBitmap(1, 1);
        bitmap.Erase(SKColors.Red);
        return TestImages.Png(bitmap);
    }

    private static StageRequest Request(int copies)
    {
        var png = OnePixelPng();
        return new(["images"], [Tensor.FromStrings(Enumerable.Repeat((ReadOnlyMemory<byte>)png, copies).ToArray())], ["input"], string.Empty);
    }

    [Fact]
    public async Task Serve_256OnePixelPngs_Answers400NamingMaxImages()
    {
        await using var server = await LoopbackServer.StartAsync(new ImagePreprocessorStage(new ImagePreprocessorOptions()));
        var png = OnePixelPng();
        var body = RawHttp.Encode(new InferRequest { Inputs = [Tensor.FromStrings(Enumerable.Repeat((ReadOnlyMemory<byte>)png, 256).ToArray())] });

        var response = await RawHttp.PostAsync(server.Http, server.Address, body, Ct).WaitAsync(Limits.Step, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith("[preprocess] ", response.Text, StringComparison.Ordinal);
        Assert.Contains("256 images exceed max images per request (64, MaxImagesPerRequest)", response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_OutputOverMaxOutputBytes_FailsNamingTheOption()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxOutputBytes = BytesPerImage });

        using var result = await stage.InferAsync(Request(2), Ct);

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Contains($"{2 * BytesPerImage}-byte output, more than max output bytes per request ({BytesPerImage}, MaxOutputBytes)", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_OutputOverTheWholeInFlightBudget_FailsNamingTheOption()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxOutputBytesInFlight = BytesPerImage });

        using var result = await stage.InferAsync(Request(2), Ct);

        Assert.Equal(StageErrorKind.InvalidInput, result.Error?.Kind);
        Assert.Contains("max output bytes in flight", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_BudgetHeldByAnUndisposedResult_WaitsUntilItIsDisposed()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxOutputBytesInFlight = (3 * BytesPerImage) / 2 });
        var first = await stage.InferAsync(Request(1), Ct);
        Assert.True(first.IsSuccess);

        var second = stage.InferAsync(Request(1), Ct).AsTask();
        await Task.Delay(100, Ct);
        Assert.False(second.IsCompleted, "the first result still holds its output");

        first.Dispose();
        using var result = await second.WaitAsync(Limits.Step, Ct);
        Assert.True(result.IsSuccess);
    }

    [Fact]
    public async Task InferAsync_WaitingForTheBudgetWhenCancelled_ThrowsAndReleasesNothing()
    {
        var stage = new ImagePreprocessorStage(new ImagePreprocessorOptions { MaxOutputBytesInFlight = (3 * BytesPerImage) / 2 });
        using var first = await stage.InferAsync(Request(1), Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var second = stage.InferAsync(Request(1), cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Limits.Step, Ct));
        first.Dispose();
        using var third = await stage.InferAsync(Request(1), Ct).AsTask().WaitAsync(Limits.Step, Ct);
        Assert.True(third.IsSuccess);
    }
}
