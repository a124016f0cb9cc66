using GraphPipe.Imaging;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 4: one JPEG to the resnet18 model tensor (1x3x224x224 float32) with <see cref="ImagePreprocessor.Preprocess(ReadOnlySpan{byte}, PreprocessProfile, Span{float}, long)"/>,
/// single-threaded, against merely decoding the same bytes at full size with libjpeg-turbo (the codec limit:
/// what a decode-then-resize preprocessor pays before its first resize). Ours may beat it, because it
/// decodes at a DCT-reduced size.
/// </summary>
internal sealed class PreprocessRows : IBenchRow
{
    private const string Group = "preprocess";
    private const double Target = 1.5;

    public string Id => Group;

    public string Title => "preprocess: JPEG -> resnet18 tensor vs libjpeg-turbo full-size decode";

    public Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var large = $"{BenchImages.LargeWidth}x{BenchImages.LargeHeight}";
        string Name(string size) => $"{size} JPEG -> resnet18 tensor vs turbojpeg full decode";
        var skipReason = !TurboJpeg.IsAvailable
            ? "libturbojpeg.so.0 is not installed (apt-get install libturbojpeg0): no codec baseline, and the preprocessor would fall back to SkiaSharp"
            : !File.Exists(SuiteImages.SamplePath) ? $"sample photo {SuiteImages.SamplePath} is missing" : null;
        if (skipReason is not null)
        {
            return Task.FromResult<IReadOnlyList<RowResult>>(
                [RowResult.Skip(Group, Name("500x375"), RowTarget.RatioAtMost(Target), skipReason), RowResult.Skip(Group, Name(large), RowTarget.RatioAtMost(Target), skipReason)]);
        }

        var sample = File.ReadAllBytes(SuiteImages.SamplePath);
        var big = SuiteImages.Large();
        var rows = new List<RowResult>();
        foreach (var (size, jpeg) in new[] { ("500x375", sample), (large, big) })
        {
            context.Progress($"preprocess: {size} JPEG ({jpeg.Length:N0} bytes)");
            rows.Add(Measure(context, Name(size), jpeg, cancellationToken));
        }

        return Task.FromResult<IReadOnlyList<RowResult>>(rows);
    }

    private static RowResult Measure(SuiteContext context, string name, byte[] jpeg, CancellationToken cancellationToken)
    {
        var profile = PreprocessProfile.Get("resnet18");
        var tensor = new float[profile.ElementsPerImage];
        int width, height;
        using (var header = TurboJpeg.Decompressor.Rent())
        {
            if (!header.ReadHeader(jpeg, out width, out height, out _, out var error)) throw new InvalidDataException(error);
        }

        var pixels = new byte[checked(width * height * 3)];
        Action ours = () => ImagePreprocessor.Preprocess(jpeg, profile, tensor);
        // The baseline reads the header too, as any decode must, and rents its handle from the same pool as ours.
        Action baseline = () =>
        {
            using var decompressor = TurboJpeg.Decompressor.Rent();
            _ = decompressor.ReadHeader(jpeg, out var w, out var h, out _, out _);
            if (decompressor.DecodeRgb(jpeg, pixels.AsSpan(0, w * h * 3), w, h) is { } error) throw new InvalidDataException(error);
        };

        Harness.Warm(ours, context.JitWarmup);
        Harness.Warm(baseline, context.JitWarmup);
        // Milliseconds per operation: twice the microbenchmark budget keeps the sample count useful in quick mode.
        var (o, b) = RowHelpers.Alternate(context, ours, baseline, context.MicroTime * 2, cancellationToken);
        const double NsPerMs = 1e6;
        return RowResult.Compare(Group, name, o.MedianNs / NsPerMs, b.MedianNs / NsPerMs, "ms", RowTarget.RatioAtMost(Target), RatioOf.OursOverBaseline,
            o.P90Ns / NsPerMs, b.P90Ns / NsPerMs,
            FormattableString.Invariant($"single thread, {jpeg.Length:N0}-byte JPEG ({width}x{height}); ours: DCT-scaled turbojpeg decode + fused resize/normalise; baseline: full-size RGB decode only; alloc/op {o.AllocatedBytesPerOp:N0} B vs {b.AllocatedBytesPerOp:N0} B; n={o.Count}/{b.Count}"));
    }
}

/// <summary>The images the preprocessing and pipeline rows feed: the 500x375 test photo and a 2000x1500 upscale of it.</summary>
internal static class SuiteImages
{
    /// <summary>Copied next to the CLI by its project file.</summary>
    public static string SamplePath => Path.Combine(AppContext.BaseDirectory, "bench-assets", "sample-500x375.jpg");

    /// <summary>Generated at run time, as the BenchmarkDotNet project does (same code), so both measure the same bytes.</summary>
    public static byte[] Large() => BenchImages.UpscaleJpeg(File.ReadAllBytes(SamplePath), BenchImages.LargeWidth, BenchImages.LargeHeight);
}
