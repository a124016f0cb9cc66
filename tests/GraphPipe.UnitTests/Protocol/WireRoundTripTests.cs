using System.Collections.Immutable;
using CsCheck;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

public sealed class WireRoundTripTests
{
    private static readonly TensorType[] NumericTypes =
    [
        TensorType.UInt8, TensorType.Int8, TensorType.UInt16, TensorType.Int16, TensorType.UInt32, TensorType.Int32,
        TensorType.UInt64, TensorType.Int64, TensorType.Float16, TensorType.Float32, TensorType.Float64,
    ];

    private static readonly Gen<long[]> ShapeGen = Gen.Long[0, 4].Array[0, 4];

    private static readonly Gen<Tensor> NumericTensorGen =
        from type in Gen.Int[0, NumericTypes.Length - 1].Select(i => NumericTypes[i])
        from shape in ShapeGen
        from bytes in Gen.Byte.Array[(int)(Tensor.ElementCountOf(shape) * type.ElementSize())]
        select Tensor.FromBytes(type, shape, bytes);

    private static readonly Gen<Tensor> StringTensorGen =
        from shape in ShapeGen
        from values in Gen.Byte.Array[0, 40].Array[(int)Tensor.ElementCountOf(shape)]
        select Tensor.FromStrings(values.Select(v => (ReadOnlyMemory<byte>)v).ToArray(), shape);

    private static readonly Gen<Tensor> TensorGen = Gen.Frequency((4, NumericTensorGen), (1, StringTensorGen));

    private static readonly Gen<string> NameGen = Gen.String[Gen.Char, 0, 12];

    [Fact]
    public void WriteInferRequest_AnyTensors_ReadBackUnchanged()
    {
        var gen = from tensors in TensorGen.Array[0, 4]
                  from names in NameGen.Array[0, 5]
                  from outputs in NameGen.Array[0, 3]
                  from config in NameGen
                  select new InferRequest { Config = config, InputNames = names, Inputs = tensors, OutputNames = outputs };
        // CsCheck samples on several threads: one writer per sample (a writer is not thread-safe).
        gen.Sample(request =>
        {
            var writer = new GraphPipeWriter(64);
            var parsed = GraphPipeReader.ReadRequest(writer.WriteInferRequest(request));
            Assert.Equal(RequestKind.Infer, parsed.Kind);
            var infer = parsed.Infer!;
            Assert.Equal(request.Config, infer.Config);
            Assert.Equal(request.InputNames, infer.InputNames);
            Assert.Equal(request.OutputNames, infer.OutputNames);
            Assert.Equal(request.Inputs.Count, infer.Inputs.Count);
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                AssertTensorEqual(request.Inputs[i], infer.Inputs[i]);
            }
        }, iter: 2000, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void WriteInferResponse_AnyTensorsAndErrors_ReadBackUnchanged()
    {
        var gen = from tensors in TensorGen.Array[0, 4]
                  from errors in Gen.Select(Gen.Long, NameGen, (c, m) => new GraphPipeError(c, m)).Array[0, 3]
                  select (tensors, errors);
        gen.Sample(t =>
        {
            var writer = new GraphPipeWriter(64);
            var parsed = GraphPipeReader.ReadInferResponse(writer.WriteInferResponse(t.tensors, t.errors));
            Assert.Equal(t.errors, parsed.Errors);
            Assert.Equal(t.tensors.Length, parsed.Outputs.Count);
            for (var i = 0; i < t.tensors.Length; i++)
            {
                AssertTensorEqual(t.tensors[i], parsed.Outputs[i]);
            }
        }, iter: 1000);
    }

    [Fact]
    public void WriteMetadataResponse_AnyMetadata_ReadBackUnchanged()
    {
        var ioGen = from name in NameGen
                    from description in NameGen
                    from type in Gen.Byte[0, 12]
                    from shape in Gen.Long[-1, 1000].Array[0, 5]
                    select new IOMetadata(name, (TensorType)type, [.. shape], description);
        var gen = from strings in NameGen.Array[4]
                  from inputs in ioGen.Array[0, 4]
                  from outputs in ioGen.Array[0, 4]
                  select new StageMetadata { Name = strings[0], Version = strings[1], Server = strings[2], Description = strings[3], Inputs = inputs, Outputs = outputs };
        gen.Sample(m =>
        {
            var writer = new GraphPipeWriter();
            var parsed = GraphPipeReader.ReadMetadataResponse(writer.WriteMetadataResponse(m));
            Assert.Equal((m.Name, m.Version, m.Server, m.Description), (parsed.Name, parsed.Version, parsed.Server, parsed.Description));
            Assert.Equal(m.Inputs.Count, parsed.Inputs.Count);
            Assert.Equal(m.Outputs.Count, parsed.Outputs.Count);
            for (var i = 0; i < m.Inputs.Count; i++)
            {
                AssertIoEqual(m.Inputs[i], parsed.Inputs[i]);
            }

            for (var i = 0; i < m.Outputs.Count; i++)
            {
                AssertIoEqual(m.Outputs[i], parsed.Outputs[i]);
            }
        }, iter: 500);
    }

    [Fact]
    public void WriteMetadataRequest_ReadRequest_IsMetadataKind()
    {
        var parsed = GraphPipeReader.ReadRequest(new GraphPipeWriter().WriteMetadataRequest());
        Assert.Equal(RequestKind.Metadata, parsed.Kind);
        Assert.Null(parsed.Infer);
    }

    [Fact]
    public void Scalar_RoundTrip_KeepsEmptyShapeAndOneElement()
    {
        var request = new InferRequest { Inputs = [Tensor.Scalar(3.5)] };
        var parsed = GraphPipeReader.ReadRequest(new GraphPipeWriter().WriteInferRequest(request)).Infer!.Inputs[0];
        Assert.Empty(parsed.Shape);
        Assert.Equal(1, parsed.ElementCount);
        Assert.Equal(3.5, parsed.AsSpan<double>()[0]);
    }

    [Fact]
    public void Writer_ReusedForLargeThenSmall_ProducesIndependentValidMessages()
    {
        var writer = new GraphPipeWriter(64);
        var big = Tensor.Create<float>(Enumerable.Range(0, 150_528).Select(i => (float)i).ToArray(), 1, 3, 224, 224);
        var first = GraphPipeReader.ReadRequest(writer.WriteInferRequest(new InferRequest { Inputs = [big] }).ToArray()).Infer!;
        Assert.Equal(big.Data.ToArray(), first.Inputs[0].Data.ToArray());
        var small = GraphPipeReader.ReadRequest(writer.WriteInferRequest(new InferRequest { Inputs = [Tensor.Create(new[] { 1f, 2f })] })).Infer!;
        Assert.Equal([1f, 2f], small.Inputs[0].ToArray<float>());
    }

    internal static void AssertTensorEqual(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        if (expected.IsString)
        {
            Assert.Equal(expected.Strings.Count, actual.Strings.Count);
            for (var i = 0; i < expected.Strings.Count; i++)
            {
                Assert.Equal(expected.Strings[i].ToArray(), actual.Strings[i].ToArray());
            }
        }
        else
        {
            Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
        }
    }

    private static void AssertIoEqual(IOMetadata expected, IOMetadata actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Description, actual.Description);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
    }
}
