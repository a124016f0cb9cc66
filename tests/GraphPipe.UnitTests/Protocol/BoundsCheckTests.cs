using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>
/// The reader's bounds at their edges: a vector that ends exactly at the end of the message is read, one that
/// runs 1 to 4 bytes past it is refused; a tensor whose byte size exceeds 2^64 is refused however its data vector
/// looks (a 64-bit product would wrap and could match).
/// </summary>
public sealed class BoundsCheckTests
{
    private static readonly byte[] Marker = [0xDE, 0xAD, 0xBE, 0xEF, 0x0B, 0xAD, 0xF0, 0x0D];

    /// <summary>A request whose uint8 tensor holds <see cref="Marker"/>; returns it and where the data vector's length prefix is.</summary>
    private static (byte[] Wire, int LengthAt) RequestWithMarker()
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest
        {
            InputNames = ["x"],
            Inputs = [Tensor.Create<byte>(Marker, Marker.Length)],
        }).ToArray();
        var at = wire.AsSpan().IndexOf(Marker);
        Assert.True(at >= 4, "marker not found");
        Assert.Equal((uint)Marker.Length, BitConverter.ToUInt32(wire, at - 4));
        return (wire, at - 4);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void ReadRequest_VectorRunningPastTheEnd_RefusedNamingTheVector(int pastTheEnd)
    {
        var (wire, lengthAt) = RequestWithMarker();
        var toTheEnd = wire.Length - lengthAt - 4;
        BitConverter.TryWriteBytes(wire.AsSpan(lengthAt), (uint)(toTheEnd + pastTheEnd));

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"vector of {toTheEnd + pastTheEnd} elements at {lengthAt} runs past the end of the buffer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("input_tensors[0].data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_VectorEndingExactlyAtTheEnd_IsReadAndMeasuredAgainstTheShape()
    {
        var (wire, lengthAt) = RequestWithMarker();
        var toTheEnd = wire.Length - lengthAt - 4;
        BitConverter.TryWriteBytes(wire.AsSpan(lengthAt), (uint)toTheEnd);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        // The bounds check let it through; the shape check then finds 8 bytes needed and more present.
        Assert.DoesNotContain("runs past the end", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"needs 8 data bytes, message has {toTheEnd}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_UnchangedMarkerRequest_Parses()
    {
        var (wire, _) = RequestWithMarker();

        var request = GraphPipeReader.ReadRequest(wire);

        Assert.Equal(Marker, request.Infer!.Inputs[0].Data.ToArray());
    }

    [Theory]
    [InlineData(TensorType.Float32, 1L << 60, 4L, "18446744073709551616")]
    [InlineData(TensorType.Float64, 1L << 61, 1L << 1, "36893488147419103232")]
    [InlineData(TensorType.UInt64, 1L << 58, 1L << 3, "18446744073709551616")]
    public void ReadRequest_ByteSizeBeyond64Bits_RefusedStatingTheTrueSize(TensorType type, long rows, long columns, string bytes)
    {
        // The shape's element count fits in 64 bits; count * element size does not, and wraps to 0 in 64-bit arithmetic.
        var wire = WireWithShapeOf(type, rows, columns);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"needs {bytes} data bytes, message has 0", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A request with one empty tensor of <paramref name="type"/>, its shape then patched to [rows, columns].</summary>
    private static byte[] WireWithShapeOf(TensorType type, long rows, long columns)
    {
        var empty = Tensor.FromBytes(type, [0, 7777], ReadOnlyMemory<byte>.Empty);
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest { InputNames = ["x"], Inputs = [empty] }).ToArray();
        var at = -1;
        for (var i = 0; i + 16 <= wire.Length; i += 4)
        {
            if (BitConverter.ToInt64(wire, i) == 0 && BitConverter.ToInt64(wire, i + 8) == 7777)
            {
                at = i;
            }
        }

        Assert.True(at >= 0, "shape not found");
        BitConverter.TryWriteBytes(wire.AsSpan(at), rows);
        BitConverter.TryWriteBytes(wire.AsSpan(at + 8), columns);
        return wire;
    }
}
