using GraphPipe.Cli;

namespace GraphPipe.UnitTests;

public sealed class NpyTests
{
    [Fact]
    public void WriteRead_Float32Matrix_RoundTrips()
    {
        var tensor = Tensor.Create<float>([1f, -2f, 3.5f, 4f, 5f, 6f], 2, 3);
        using var stream = new MemoryStream();
        Npy.Write(stream, tensor);
        var bytes = stream.ToArray();
        Assert.Equal(0, (bytes.Length - 24) % 64);
        var back = Npy.Read(bytes, "t");
        WireRoundTripTests.AssertTensorEqual(tensor, back);
    }

    [Fact]
    public void WriteRead_StringsAndScalar_RoundTrip()
    {
        foreach (var tensor in new[] { Tensor.FromStrings("cat", "", "tiger"), Tensor.Scalar(7L), Tensor.Create<Half>([(Half)1.5f], 1) })
        {
            using var stream = new MemoryStream();
            Npy.Write(stream, tensor);
            WireRoundTripTests.AssertTensorEqual(tensor, Npy.Read(stream.ToArray(), "t"));
        }
    }

    [Fact]
    public void Read_NumpyWrittenFile_ParsesHeader()
    {
        // Bytes of np.save(f, np.array([[1, 2]], dtype='<i4')) as NumPy 1.x writes them.
        var header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }";
        header = header.PadRight(128 - 10 - 1) + "\n";
        var file = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 };
        file.AddRange(System.Text.Encoding.ASCII.GetBytes(header));
        file.AddRange(BitConverter.GetBytes(1));
        file.AddRange(BitConverter.GetBytes(2));
        var tensor = Npy.Read(file.ToArray(), "np");
        Assert.Equal(TensorType.Int32, tensor.Type);
        Assert.Equal([1L, 2], tensor.Shape.ToArray());
        Assert.Equal([1, 2], tensor.ToArray<int>());
    }

    [Fact]
    public void Read_NotNpy_ClearError()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Npy.Read("hello world"u8.ToArray(), "x.npy"));
        Assert.Contains("x.npy", ex.Message, StringComparison.Ordinal);
    }
}
