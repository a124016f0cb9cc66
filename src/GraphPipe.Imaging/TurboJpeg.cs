using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace GraphPipe.Imaging;

/// <summary>
/// Minimal binding to libjpeg-turbo's TurboJPEG API (<c>libturbojpeg.so.0</c>), loaded at run time so
/// the assembly works (through SkiaSharp) where the library is not installed.
/// </summary>
internal static unsafe class TurboJpeg
{
    public const int PixelFormatRgb = 0;
    public const int PixelFormatRgbx = 2;
    private const int ColorspaceCmyk = 3;
    private const int ColorspaceYcck = 4;

    private static readonly delegate* unmanaged<nint> InitDecompress;
    private static readonly delegate* unmanaged<nint, byte*, nuint, int*, int*, int*, int*, int> DecompressHeader3;
    private static readonly delegate* unmanaged<int*, ScalingFactor*> GetScalingFactors;
    private static readonly delegate* unmanaged<nint, byte*, nuint, byte*, int, int, int, int, int, int> Decompress2;
    private static readonly delegate* unmanaged<nint, int> Destroy;
    private static readonly delegate* unmanaged<nint, byte*> GetErrorStr2;

    // Handles are not thread-safe but are reusable; a small pool avoids an init per image.
    private static readonly ConcurrentBag<nint> Handles = [];
    private static readonly ScalingFactor[] Factors = [];

    static TurboJpeg()
    {
        if (Environment.GetEnvironmentVariable("GP_DISABLE_TURBOJPEG") is "1" or "true"
            || !NativeLibrary.TryLoad("libturbojpeg.so.0", typeof(TurboJpeg).Assembly, null, out var lib))
        {
            return;
        }

        if (!NativeLibrary.TryGetExport(lib, "tjInitDecompress", out var init)
            || !NativeLibrary.TryGetExport(lib, "tjDecompressHeader3", out var header)
            || !NativeLibrary.TryGetExport(lib, "tjGetScalingFactors", out var factors)
            || !NativeLibrary.TryGetExport(lib, "tjDecompress2", out var decompress)
            || !NativeLibrary.TryGetExport(lib, "tjDestroy", out var destroy)
            || !NativeLibrary.TryGetExport(lib, "tjGetErrorStr2", out var error))
        {
            return;
        }

        InitDecompress = (delegate* unmanaged<nint>)init;
        DecompressHeader3 = (delegate* unmanaged<nint, byte*, nuint, int*, int*, int*, int*, int>)header;
        GetScalingFactors = (delegate* unmanaged<int*, ScalingFactor*>)factors;
        Decompress2 = (delegate* unmanaged<nint, byte*, nuint, byte*, int, int, int, int, int, int>)decompress;
        Destroy = (delegate* unmanaged<nint, int>)destroy;
        GetErrorStr2 = (delegate* unmanaged<nint, byte*>)error;

        int count;
        var list = GetScalingFactors(&count);
        if (list == null || count <= 0)
        {
            return;
        }

        Factors = new ScalingFactor[count];
        for (var i = 0; i < count; i++)
        {
            Factors[i] = list[i];
        }

        IsAvailable = true;
    }

    /// <summary>True when libturbojpeg was found and has every function used here.</summary>
    public static bool IsAvailable { get; }

    [StructLayout(LayoutKind.Sequential)]
    private struct ScalingFactor
    {
        public int Num;
        public int Denom;
    }

    /// <summary>A pooled decompressor handle; dispose to return it (or destroy it after a failure).</summary>
    public sealed class Decompressor : IDisposable
    {
        private nint _handle;

        // A handle that reported an error can stay in a bad state (the next image then fails with a stale
        // "Unsupported marker"), so it is destroyed rather than pooled.
        private bool _failed;

        private Decompressor(nint handle) => _handle = handle;

        public static Decompressor Rent()
        {
            if (!Handles.TryTake(out var handle))
            {
                handle = InitDecompress();
                if (handle == 0)
                {
                    throw new InvalidOperationException("tjInitDecompress failed");
                }
            }

            return new Decompressor(handle);
        }

        /// <summary>Reads width, height and colour space; false when the header is not a decodable JPEG.</summary>
        public bool ReadHeader(ReadOnlySpan<byte> jpeg, out int width, out int height, out bool needsFallback, out string error)
        {
            int w, h, subsamp, colorspace;
            fixed (byte* p = jpeg)
            {
                if (DecompressHeader3(_handle, p, (nuint)jpeg.Length, &w, &h, &subsamp, &colorspace) != 0)
                {
                    (width, height, needsFallback, error) = (0, 0, false, LastError());
                    _failed = true;
                    return false;
                }
            }

            // TurboJPEG cannot convert CMYK/YCCK to RGB; SkiaSharp can.
            (width, height, needsFallback, error) = (w, h, colorspace is ColorspaceCmyk or ColorspaceYcck, string.Empty);
            return true;
        }

        /// <summary>Decodes to packed RGB (3 bytes a pixel) or RGBX (4) at the given scaled size; returns an error message or null.</summary>
        public string? DecodeRgb(ReadOnlySpan<byte> jpeg, Span<byte> destination, int width, int height, int bytesPerPixel = 3)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, width * height * bytesPerPixel);
            fixed (byte* src = jpeg)
            fixed (byte* dst = destination)
            {
                // Warnings (e.g. a truncated stream) also return -1: a damaged upload is refused, not half-grey.
                if (Decompress2(_handle, src, (nuint)jpeg.Length, dst, width, width * bytesPerPixel, height, bytesPerPixel == 4 ? PixelFormatRgbx : PixelFormatRgb, 0) == 0)
                {
                    return null;
                }

                _failed = true;
                return LastError();
            }
        }

        private string LastError()
        {
            var message = GetErrorStr2(_handle);
            return message == null ? "unknown TurboJPEG error" : Marshal.PtrToStringUTF8((nint)message) ?? "unknown TurboJPEG error";
        }

        public void Dispose()
        {
            var handle = _handle;
            _handle = 0;
            if (handle == 0)
            {
                return;
            }

            if (!_failed && Handles.Count < 64)
            {
                Handles.Add(handle);
            }
            else
            {
                _ = Destroy(handle);
            }
        }
    }

    /// <summary>
    /// The scaled size for the smallest DCT scaling factor (1/2, 1/4 or 1/8) whose result still covers
    /// <paramref name="minWidth"/> x <paramref name="minHeight"/>; full size when none is smaller.
    /// </summary>
    public static (int Width, int Height) ScaledSize(int width, int height, int minWidth, int minHeight)
    {
        var best = (width, height);
        foreach (var f in Factors)
        {
            // Only 1/2, 1/4 and 1/8 have SIMD (or trivial) reduced IDCTs; the others (3/8, 5/8, ...) run in
            // plain C and measured slower than a full-size SIMD decode.
            if (f.Num != 1 || f.Denom is not (2 or 4 or 8))
            {
                continue;
            }

            // TJSCALED(dimension, factor) = ceil(dimension * num / denom)
            var w = (int)((((long)width * f.Num) + f.Denom - 1) / f.Denom);
            var h = (int)((((long)height * f.Num) + f.Denom - 1) / f.Denom);
            if (w >= minWidth && h >= minHeight && (long)w * h < (long)best.width * best.height)
            {
                best = (w, h);
            }
        }

        return best;
    }
}
