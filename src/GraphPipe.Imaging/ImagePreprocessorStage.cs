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

    /// <summary>Most images in one request. Default 64.</summary>
    public int MaxImagesPerRequest { get; init; } = 64;

    /// <summary>
    /// Largest output of one request, in bytes (images x 3 x height x width x 4), checked before anything is
    /// decoded. Default 64 MiB: 64 images at 224x224, or 17 at 512x512. Tiny images expand to full-size outputs,
    /// so without it a 20 KB request could ask for hundreds of MB.
    /// </summary>
    public long MaxOutputBytes { get; init; } = DefaultMaxOutputBytes;

    /// <summary>
    /// Largest sum of outputs held by the stage's requests at once (until each response is written); a request
    /// that does not fit waits for earlier ones, up to its deadline. Default 256 MiB.
    /// </summary>
    public long MaxOutputBytesInFlight { get; init; } = DefaultMaxOutputBytesInFlight;

    /// <summary>Images of one request decoded at once.</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    public string InputName { get; init; } = "images";

    public string OutputName { get; init; } = "input";

    /// <summary>Stage name reported in metadata and error messages.</summary>
    public string Name { get; init; } = "preprocess";

    public const long DefaultMaxOutputBytes = 64L * 1024 * 1024;

    public const long DefaultMaxOutputBytesInFlight = 256L * 1024 * 1024;
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
    private readonly MemoryBudget _inFlight;

    public ImagePreprocessorStage(ImagePreprocessorOptions options, ILogger<ImagePreprocessorStage>? logger = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        // A private copy, so later changes to the caller's Mean/Std arrays cannot change a running stage.
        _profile = options.Profile?.With() ?? throw new ArgumentException("Profile is required.", nameof(options));
        _profile.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPixels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxImagesPerRequest, 1);
        // One output is one pooled array, so at most Array.MaxLength bytes.
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxOutputBytes, Array.MaxLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOutputBytesInFlight, 1);
        _inFlight = new MemoryBudget(options.MaxOutputBytesInFlight);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.InputName);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.OutputName);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Metadata = new StageMetadata
        {
            Name = options.Name,
            Version = "1",
            Description = $"image preprocessor ({_profile}); decoder: {(ImagePreprocessor.UsesTurboJpeg ? "libturbojpeg + SkiaSharp" : "SkiaSharp")}",
            Inputs = [new IOMetadata(options.InputName, TensorType.String, [-1], $"encoded images ({ImagePreprocessor.SupportedFormats}), one per element")],
            Outputs = [new IOMetadata(options.OutputName, TensorType.Float32, _profile.Shape(-1), $"{_profile.ChannelOrder} {_profile.Layout} {_profile.Width}x{_profile.Height}")],
        };
        Log.Created(_logger, options.Name, _profile.ToString(), ImagePreprocessor.UsesTurboJpeg);
    }

    public StageMetadata Metadata { get; }

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
            return Fail($"input '{_options.InputName}': {images.Count} images exceed max images per request ({_options.MaxImagesPerRequest}, MaxImagesPerRequest)");
        }

        foreach (var name in request.OutputNames)
        {
            if (!string.Equals(name, _options.OutputName, StringComparison.Ordinal))
            {
                return Fail($"'{Echo.Name(name)}' is not an output of '{_options.Name}' (outputs: {_options.OutputName})");
            }
        }

        // Known from the profile alone: refuse or wait before decoding or allocating anything.
        var bytes = (long)images.Count * _profile.ElementsPerImage * sizeof(float);
        if (bytes > _options.MaxOutputBytes)
        {
            return Fail($"input '{_options.InputName}': {images.Count} images of {_profile.Width}x{_profile.Height} make a {bytes}-byte output, more than max output bytes per request ({_options.MaxOutputBytes}, MaxOutputBytes)");
        }

        if (bytes > _inFlight.Capacity)
        {
            return Fail($"input '{_options.InputName}': {images.Count} images of {_profile.Width}x{_profile.Height} make a {bytes}-byte output, more than max output bytes in flight ({_inFlight.Capacity}, MaxOutputBytesInFlight)");
        }

        var lease = _inFlight.AcquireAsync(bytes, cancellationToken);
        return lease.IsCompletedSuccessfully
            ? ValueTask.FromResult(Produce(request, images, bytes, lease.Result, cancellationToken))
            : ProduceWhenLeasedAsync(request, images, bytes, lease, cancellationToken);
    }

    private async ValueTask<StageResult> ProduceWhenLeasedAsync(StageRequest request, IReadOnlyList<ReadOnlyMemory<byte>> images, long bytes, ValueTask<IDisposable> lease, CancellationToken cancellationToken)
    {
        var leased = await lease.ConfigureAwait(false);
        Log.Waited(_logger, bytes);
        return Produce(request, images, bytes, leased, cancellationToken);
    }

    /// <summary>Decodes into a pooled buffer that, with <paramref name="lease"/>, is given back when the result is disposed.</summary>
    private StageResult Produce(StageRequest request, IReadOnlyList<ReadOnlyMemory<byte>> images, long bytes, IDisposable lease, CancellationToken cancellationToken)
    {
        var perImage = _profile.ElementsPerImage;
        PooledBuffer buffer;
        try
        {
            buffer = new PooledBuffer((int)bytes, lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        try
        {
            var failure = Run(images, buffer.Array, perImage, cancellationToken);
            if (failure is not null)
            {
                buffer.Dispose();
                Log.Rejected(_logger, failure);
                return StageResult.Failure(StageErrorKind.InvalidInput, failure);
            }

            var tensor = Tensor.FromBytes(TensorType.Float32, _profile.Shape(images.Count).AsSpan(), buffer.Array.AsMemory(0, (int)bytes));
            var outputs = new Tensor[Math.Max(1, request.OutputNames.Count)];
            Array.Fill(outputs, tensor);
            return StageResult.Success(outputs, buffer);
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

    /// <summary>The output buffer, rented per request and returned, with its share of the in-flight budget, when the result is disposed.</summary>
    private sealed class PooledBuffer(int length, IDisposable lease) : IDisposable
    {
        private byte[]? _array = ArrayPool<byte>.Shared.Rent(length);

        public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array)
            {
                ArrayPool<byte>.Shared.Return(array);
                lease.Dispose();
            }
        }
    }
}
