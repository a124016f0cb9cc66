using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using GraphPipe.Imaging;
using SkiaSharp;

namespace GraphPipe.Benchmarks;

/// <summary>
/// One JPEG to the resnet18 tensor (1x3x224x224 float32), single-threaded, against the cost of merely
/// decoding the JPEG at full size with libturbojpeg (baseline) and with SkiaSharp. The preprocessor
/// decodes at a DCT-reduced size, so it can beat a full decode. The 2000x1500 JPEG is generated here
/// (upscaled from the 500x375 test photo) rather than committed.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class PreprocessBenchmarks
{
    private readonly PreprocessProfile _profile = PreprocessProfile.Get("resnet18");
    private byte[] _jpeg = [];
    private float[] _tensor = [];
    private byte[] _pixels = [];
    private int _width;
    private int _height;

    [Params("500x375", "2000x1500")]
    public string Image { get; set; } = "500x375";

    [GlobalSetup]
    public void Setup()
    {
        var sample = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "images", "sample-500x375.jpg"));
        _jpeg = Image == "500x375" ? sample : BenchImages.UpscaleJpeg(sample, BenchImages.LargeWidth, BenchImages.LargeHeight);
        using var codec = SKCodec.Create(new MemoryStream(_jpeg));
        (_width, _height) = (codec.Info.Width, codec.Info.Height);
        _tensor = new float[_profile.ElementsPerImage];
        _pixels = new byte[_width * _height * 4];
        if (!TurboJpeg.IsAvailable)
        {
            throw new InvalidOperationException("libturbojpeg.so.0 is not installed (apt-get install libturbojpeg0)");
        }
    }

    [Benchmark(Baseline = true, Description = "libturbojpeg full-size decode (RGB)")]
    public void TurboJpegFullDecode()
    {
        using var decompressor = TurboJpeg.Decompressor.Rent();
        _ = decompressor.ReadHeader(_jpeg, out var w, out var h, out _, out _);
        if (decompressor.DecodeRgb(_jpeg, _pixels.AsSpan(0, w * h * 3), w, h) is { } error)
        {
            throw new InvalidOperationException(error);
        }
    }

    [Benchmark(Description = "libturbojpeg DCT-scaled decode only (RGBX)")]
    public void TurboJpegScaledDecode()
    {
        using var decompressor = TurboJpeg.Decompressor.Rent();
        _ = decompressor.ReadHeader(_jpeg, out var w, out var h, out _, out _);
        (w, h) = TurboJpeg.ScaledSize(w, h, _profile.Width, _profile.Height);
        if (decompressor.DecodeRgb(_jpeg, _pixels.AsSpan(0, w * h * 4), w, h, bytesPerPixel: 4) is { } error)
        {
            throw new InvalidOperationException(error);
        }
    }

    [Benchmark(Description = "fused resample pass only (from the DCT-scaled size)")]
    public void ResampleOnly()
    {
        var (w, h) = TurboJpeg.ScaledSize(_width, _height, _profile.Width, _profile.Height);
        ImagePreprocessor.Resample(_pixels.AsSpan(0, w * h * 4), w, h, 4, _profile, _tensor);
    }

    [Benchmark(Description = "SkiaSharp full-size decode (RGBA)")]
    public unsafe void SkiaFullDecode()
    {
        using var data = SKData.CreateCopy(_jpeg);
        using var codec = SKCodec.Create(data);
        var info = new SKImageInfo(_width, _height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        fixed (byte* p = _pixels)
        {
            if (codec.GetPixels(info, (nint)p) != SKCodecResult.Success) throw new InvalidOperationException();
        }
    }

    [Benchmark(Description = "Preprocess -> resnet18 tensor (turbojpeg, DCT-scaled)")]
    public void PreprocessTurbo() => ImagePreprocessor.Preprocess(_jpeg, _profile, _tensor, ImagePreprocessor.DefaultMaxPixels, DecoderChoice.Auto);

    [Benchmark(Description = "Preprocess -> resnet18 tensor (SkiaSharp, scaled)")]
    public void PreprocessSkia() => ImagePreprocessor.Preprocess(_jpeg, _profile, _tensor, ImagePreprocessor.DefaultMaxPixels, DecoderChoice.Skia);
}
