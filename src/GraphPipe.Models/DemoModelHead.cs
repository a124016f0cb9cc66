using System.Buffers.Binary;

namespace GraphPipe.Models;

/// <summary>
/// The trained classifier head of the demo model: <c>logits = features · Weights + Bias</c> with
/// <see cref="Weights"/> laid out [features, classes] row-major (the Gemm B operand).
/// File format (little-endian): magic "GPHD", uint32 version 1, uint32 features, uint32 classes,
/// float32 weights[features*classes], float32 bias[classes].
/// </summary>
public sealed class DemoModelHead
{
    private static ReadOnlySpan<byte> Magic => "GPHD"u8;

    private const int FormatVersion = 1;
    private const int HeaderSize = 16;

    public DemoModelHead(int features, int classes, float[] weights, float[] bias)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        if (weights.Length != features * classes) throw new ArgumentException($"weights must hold {features}x{classes} values, got {weights.Length}", nameof(weights));
        if (bias.Length != classes) throw new ArgumentException($"bias must hold {classes} values, got {bias.Length}", nameof(bias));
        if (weights.Any(v => !float.IsFinite(v)) || bias.Any(v => !float.IsFinite(v))) throw new ArgumentException("head parameters must be finite");
        Features = features;
        Classes = classes;
        Weights = weights;
        Bias = bias;
    }

    public int Features { get; }

    public int Classes { get; }

    /// <summary>[Features, Classes], row-major.</summary>
#pragma warning disable CA1819 // A plain parameter block.
    public float[] Weights { get; }

    public float[] Bias { get; }
#pragma warning restore CA1819

    public byte[] ToBytes()
    {
        var bytes = new byte[HeaderSize + (4 * (Weights.Length + Bias.Length))];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Features);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), Classes);
        var offset = HeaderSize;
        foreach (var v in Weights.Concat(Bias))
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset), v);
            offset += 4;
        }

        return bytes;
    }

    public static DemoModelHead FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a GraphPipe demo head file (magic 'GPHD' missing)");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (version != FormatVersion) throw new InvalidDataException($"head file version {version} is not supported (expected {FormatVersion})");
        var features = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        var classes = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        if (features < 1 || classes < 1 || features > 1 << 16 || classes > 1 << 16 || bytes.Length != HeaderSize + (4L * ((features * classes) + classes)))
        {
            throw new InvalidDataException($"head file says {features} features x {classes} classes but holds {bytes.Length} bytes");
        }

        var weights = new float[features * classes];
        var bias = new float[classes];
        var offset = HeaderSize;
        for (var i = 0; i < weights.Length; i++, offset += 4) weights[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[offset..]);
        for (var i = 0; i < bias.Length; i++, offset += 4) bias[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[offset..]);
        return new DemoModelHead(features, classes, weights, bias);
    }

    public static DemoModelHead Read(string path) => FromBytes(File.ReadAllBytes(path));

    public void Write(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ToBytes());
    }
}
