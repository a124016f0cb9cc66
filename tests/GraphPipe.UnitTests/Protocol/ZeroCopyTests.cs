using System.Runtime.InteropServices;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

public sealed class ZeroCopyTests
{
    [Fact]
    public void ReadRequest_ImageSizedFloatTensor_DataIsViewOfReceivedBuffer()
    {
        var values = new float[1 * 3 * 224 * 224];
        for (var i = 0; i < values.Length; i++) values[i] = i * 0.5f;
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest { Inputs = [Tensor.Create<float>(values, 1, 3, 224, 224)] }).ToArray();

        var tensor = GraphPipeReader.ReadRequest(wire).Infer!.Inputs[0];

        Assert.True(MemoryMarshal.TryGetArray(tensor.Data, out var segment));
        Assert.Same(wire, segment.Array);
        Assert.Equal(values.Length * sizeof(float), segment.Count);
        Assert.True(tensor.AsSpan<float>().SequenceEqual(values));
        // Changing the buffer shows through the parsed tensor: proof it is the same memory.
        wire[segment.Offset] ^= 0xFF;
        Assert.NotEqual(values[0], tensor.AsSpan<float>()[0]);
    }

    [Fact]
    public void ReadRequest_StringTensor_ElementsAreViewsOfReceivedBuffer()
    {
        var jpegLike = new byte[] { 0xFF, 0xD8, 0x00, 0xFF, 0xD9 };
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest { Inputs = [Tensor.FromStrings([jpegLike])] }).ToArray();

        var element = GraphPipeReader.ReadRequest(wire).Infer!.Inputs[0].Strings[0];

        Assert.True(MemoryMarshal.TryGetArray(element, out var segment));
        Assert.Same(wire, segment.Array);
        Assert.Equal(jpegLike, element.ToArray());
    }

    [Fact]
    public void WriteInferRequest_StringElement_IsNulTerminatedOnTheWire()
    {
        var payload = new byte[] { 1, 2, 3 };
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest { Inputs = [Tensor.FromStrings([payload])] }).ToArray();
        var element = GraphPipeReader.ReadRequest(wire).Infer!.Inputs[0].Strings[0];
        Assert.True(MemoryMarshal.TryGetArray(element, out var segment));
        Assert.Equal(0, wire[segment.Offset + segment.Count]);
    }
}
