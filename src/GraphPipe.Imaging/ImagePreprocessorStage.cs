using System.Buffers;
using System.Runtime.InteropServices;
using GraphPipe.Stages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GraphPipe.Imaging;

public sealed class ImagePreprocessorOptions
{
    /// <summary>Size, channel order, layout and normalisation of the output. Default: <c>resnet18</c>.</summary>
    public PreprocessProfile Profile { get; init; } = PreprocessProfile.Get("resnet18");

    /// <summary>Largest source image (width * height) accepted; checked from the header, before decoding.</summary>
    public long MaxPixels { get; init; } = ImagePreprocessor.DefaultMaxPixels;

    /// <summary>Most images in one request.</summary>
    public int MaxImagesPerRequest { get; init; } = 256;

    /// <summary>Images of one request decoded at once.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    public string InputName { get; init; } = "images";

    public string OutputName { get; init; } = "input";

    /// <summary>Stage name reported in metadata and error messages.</summary>
    public string Name { get; init; } = "preprocess";
}

/// <summary>
/// A pipeline stage that turns a string tensor of encoded images (JPEG, PNG, GIF, BMP, WebP) into one
/// float32 batch tensor <c>[N,H,W,3]</c> or <c>[N,3,H,W]</c> per <see cref="ImagePreprocessorOptions.Profile"/>.
/// </summary>
public sealed partial class ImagePreprocessorStage : IInferenceStage
{
    private readonly ImagePreprocessorOptions _options;
    private readonly PreprocessProfile _profile;
    private readonly ILogger _logger;

    public ImagePreprocessorStage(ImagePreprocessorOptions options, ILogger<ImagePreprocessorStage>? logger = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        // A private copy, so later changes to the caller's Mean/Std arrays cannot change a running stage.
        _profile = options.Profile?.With() ?? throw new ArgumentException("Profile is required.", nameof(options));
        _profile.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPixels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxImagesPerRequest, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.InputName);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.OutputName);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Metadata = new MetadataResponse
        {
            Name = options.Name,
            Version = "1",
            Description = $"image preprocessor ({_profile}); decoder: {(ImagePreprocessor.UsesTurboJpeg ? "libturbojpeg + SkiaSharp" : "SkiaSharp")}",
            Inputs = [new IOMetadata(options.InputName, TensorType.String, [-1], $"encoded images ({ImagePreprocessor.SupportedFormats}), one per element")],
            Outputs = [new IOMetadata(options.OutputName, TensorType.Float32, _profile.Shape(-1), $"{_profile.ChannelOrder} {_profile.Layout} {_profile.Width}x{_profile.Height}")],
        };
        Log.Created(_logger, options.Name, _profile.ToString(), ImagePreprocessor.UsesTurboJpeg);
    }

    public MetadataResponse Metadata { get; }

    public PreprocessProfile Profile => _profile;

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        var input = request.FindInput(_options.InputName) ?? (request.Inputs.Count > 0 ? request.Inputs[0] : null);
        if (input is null)
        {
            return Fail($"input '{_options.InputName}' is missing: expected a string tensor of encoded images");
        }

        if (!input.IsString)
        {
            return Fail($"input '{_options.InputName}': expected type string (encoded images), received {input.Type.ToWireName()}{Echo.Shape(input.Shape.AsSpan())}");
        }

        var images = input.Strings;
        if (images.Count == 0)
        {
            return Fail($"input '{_options.InputName}': empty batch; send at least one encoded image");
        }

        if (images.Count > _options.MaxImagesPerRequest)
        {
            return Fail($"input '{_options.InputName}': {images.Count} images exceed the limit of {_options.MaxImagesPerRequest} per request");
        }

        foreach (var name in request.OutputNames)
        {
            if (!string.Equals(name, _options.OutputName, StringComparison.Ordinal))
            {
                return Fail($"'{Echo.Name(name)}' is not an output of '{_options.Name}' (outputs: {_options.OutputName})");
            }
        }

        var perImage = _profile.ElementsPerImage;
        var bytes = checked((long)images.Count * perImage * sizeof(float));
        var buffer = new PooledBuffer(checked((int)bytes));
        try
        {
            var failure = Run(images, buffer.Array, perImage, cancellationToken);
            if (failure is not null)
            {
                buffer.Dispose();
                Log.Rejected(_logger, failure);
                return Fail(failure);
            }

            var tensor = Tensor.FromBytes(TensorType.Float32, _profile.Shape(images.Count).AsSpan(), buffer.Array.AsMemory(0, (int)bytes));
            var outputs = new Tensor[Math.Max(1, request.OutputNames.Count)];
            Array.Fill(outputs, tensor);
            return ValueTask.FromResult(StageResult.Success(outputs, buffer));
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Decodes every image into its slice of <paramref name="output"/>; the error of the lowest failing index, or null.</summary>
    private string? Run(IReadOnlyList<ReadOnlyMemory<byte>> images, byte[] output, int perImage, CancellationToken cancellationToken)
    {
        var count = images.Count;
        var errors = new string?[count];
        void One(int i)
        {
            var destination = MemoryMarshal.Cast<byte, float>(output.AsSpan()).Slice(i * perImage, perImage);
            try
            {
                ImagePreprocessor.Preprocess(images[i].Span, _profile, destination, _options.MaxPixels);
            }
            catch (InvalidImageException ex)
            {
                errors[i] = $"image {i}: {ex.Message}";
            }
        }

        if (count == 1 || _options.MaxDegreeOfParallelism == 1)
        {
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                One(i);
                if (errors[i] is not null) return errors[i];
            }

            return null;
        }

        // CPU-bound: the calling (thread-pool) thread takes part, so blocking it here is no waste.
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = cancellationToken }, One);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
        {
            // Surface the real fault (the front door reports its message), not "One or more errors occurred".
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerExceptions[0]);
        }

        return Array.Find(errors, e => e is not null);
    }

    private static ValueTask<StageResult> Fail(string message) => ValueTask.FromResult(StageResult.Failure(StageErrorKind.InvalidInput, message));

    /// <summary>The output buffer, rented per request and returned when the result is disposed.</summary>
    private sealed class PooledBuffer(int length) : IDisposable
    {
        private byte[]? _array = ArrayPool<byte>.Shared.Rent(length);

        public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Preprocessor '{Name}': {Profile}; libturbojpeg: {TurboJpeg}")]
        public static partial void Created(ILogger logger, string name, string profile, bool turboJpeg);

        [LoggerMessage(2, LogLevel.Debug, "Rejected request: {Reason}")]
        public static partial void Rejected(ILogger logger, string reason);
    }
}
