using System.Buffers.Binary;
using Google.FlatBuffers;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>
/// What the reader refuses, and that each refusal names the field it found wrong: an offset that points outside
/// the message in any field of a request, a response or metadata; a request kind it does not know; an element
/// type, a shape or a string count that do not fit. Written from Stryker's surviving mutants of
/// <c>GraphPipeReader</c> (docs/testing.md).
/// </summary>
public sealed class GraphPipeReaderTests
{
    private static byte[] Request() => new GraphPipeWriter().WriteInferRequest(new InferRequest
    {
        Config = "http://next",
        InputNames = ["a", "b"],
        Inputs = [Tensor.Create<float>([1f, 2f], 2), Tensor.FromStrings("x", "yz")],
        OutputNames = ["out"],
    }).ToArray();

    private static byte[] Response() => new GraphPipeWriter().WriteInferResponse(
        [Tensor.Create<float>([1f, 2f], 2), Tensor.FromStrings("x")],
        [new GraphPipeError(1, "first"), new GraphPipeError(2, "second")]).ToArray();

    private static byte[] Metadata() => new GraphPipeWriter().WriteMetadataResponse(new StageMetadata
    {
        Name = "stage",
        Version = "1.0",
        Server = "graphpipe",
        Description = "a stage",
        Inputs = [new IOMetadata("in0", TensorType.Float32, [1, 3], "first"), new IOMetadata("in1", TensorType.String, [-1], "second")],
        Outputs = [new IOMetadata("out0", TensorType.Float32, [1, 10], "scores")],
    }).ToArray();

    /// <summary>
    /// Position of the offset a path names, in a message the writer wrote: steps separated by '/', each a field
    /// id ("2") or an element of a vector field ("2[1]"); every step but the last is followed to its table.
    /// </summary>
    private static int SlotOf(byte[] wire, string path)
    {
        var reader = new FlatBufferReader(wire);
        var table = reader.RootTable();
        var steps = path.Split('/');
        for (var s = 0; ; s++)
        {
            var step = steps[s];
            var bracket = step.IndexOf('[', StringComparison.Ordinal);
            var field = int.Parse(bracket < 0 ? step : step[..bracket], System.Globalization.CultureInfo.InvariantCulture);
            var last = s == steps.Length - 1;
            if (bracket < 0)
            {
                if (last) return reader.FieldPosition(table, field, 4);
                table = reader.ReadTableField(table, field, "path");
            }
            else
            {
                var index = int.Parse(step[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
                var (start, count) = reader.ReadVectorField(table, field, 4, "path");
                Assert.True(index < count, $"{path}: element {index} of {count}");
                if (last) return start + 4 + (4 * index);
                table = reader.ReadOffsetElement(start, index, "path");
            }
        }
    }

    /// <summary>The position the offset at <paramref name="slot"/> points at.</summary>
    private static int Follow(byte[] wire, int slot) => slot + (int)BinaryPrimitives.ReadUInt32LittleEndian(wire.AsSpan(slot));

    /// <summary>Makes the offset at <paramref name="path"/> point past the end of the message; returns where it is.</summary>
    private static int PointOutside(byte[] wire, string path)
    {
        var slot = SlotOf(wire, path);
        Assert.True(slot > 0, $"{path} not found");
        BinaryPrimitives.WriteUInt32LittleEndian(wire.AsSpan(slot), (uint)wire.Length);
        return slot;
    }

    [Theory]
    [InlineData("1", "request.req")]
    [InlineData("1/0", "config")]
    [InlineData("1/1", "input_names")]
    [InlineData("1/1[1]", "input_names")]
    [InlineData("1/2", "input_tensors")]
    [InlineData("1/2[1]", "input_tensors")]
    [InlineData("1/3", "output_names")]
    [InlineData("1/3[0]", "output_names")]
    [InlineData("1/2[0]/1", "input_tensors[0].shape")]
    [InlineData("1/2[1]/1", "input_tensors[1].shape")]
    [InlineData("1/2[0]/2", "input_tensors[0].data")]
    [InlineData("1/2[1]/3", "input_tensors[1].string_val")]
    [InlineData("1/2[1]/3[1]", "input_tensors[1].string_val")]
    public void ReadRequest_OffsetPointingOutside_RefusedNamingTheField(string path, string field)
    {
        var wire = Request();
        var slot = PointOutside(wire, path);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"{field}: offset at {slot} points outside the buffer", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", "output_tensors")]
    [InlineData("0[1]", "output_tensors")]
    [InlineData("0[1]/1", "output_tensors[1].shape")]
    [InlineData("0[0]/2", "output_tensors[0].data")]
    [InlineData("1", "errors")]
    [InlineData("1[1]", "errors")]
    [InlineData("1[1]/1", "error.message")]
    public void ReadInferResponse_OffsetPointingOutside_RefusedNamingTheField(string path, string field)
    {
        var wire = Response();
        var slot = PointOutside(wire, path);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadInferResponse(wire));

        Assert.Contains($"{field}: offset at {slot} points outside the buffer", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", "name")]
    [InlineData("1", "version")]
    [InlineData("2", "server")]
    [InlineData("3", "description")]
    [InlineData("4", "inputs")]
    [InlineData("4[1]", "inputs")]
    [InlineData("4[1]/0", "inputs[1].name")]
    [InlineData("4[1]/1", "inputs[1].description")]
    [InlineData("4[1]/2", "inputs[1].shape")]
    [InlineData("5", "outputs")]
    [InlineData("5[0]/0", "outputs[0].name")]
    [InlineData("5[0]/2", "outputs[0].shape")]
    public void ReadMetadataResponse_OffsetPointingOutside_RefusedNamingTheField(string path, string field)
    {
        var wire = Metadata();
        var slot = PointOutside(wire, path);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadMetadataResponse(wire));

        Assert.Contains($"{field}: offset at {slot} points outside the buffer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_UnchangedMessages_ParseEveryField()
    {
        var request = GraphPipeReader.ReadRequest(Request());
        var response = GraphPipeReader.ReadInferResponse(Response());
        var metadata = GraphPipeReader.ReadMetadataResponse(Metadata());

        Assert.Equal(RequestKind.Infer, request.Kind);
        Assert.Equal("http://next", request.Infer!.Config);
        Assert.Equal(["a", "b"], request.Infer.InputNames);
        Assert.Equal(["out"], request.Infer.OutputNames);
        Assert.Equal(["x", "yz"], request.Infer.Inputs[1].ToStringArray());
        Assert.Equal([new GraphPipeError(1, "first"), new GraphPipeError(2, "second")], response.Errors);
        Assert.Equal(["x"], response.Outputs[1].ToStringArray());
        Assert.Equal(("stage", "1.0", "graphpipe", "a stage"), (metadata.Name, metadata.Version, metadata.Server, metadata.Description));
        Assert.Equal(["in0", "in1"], metadata.Inputs.Select(io => io.Name));
        Assert.Equal(["first", "second"], metadata.Inputs.Select(io => io.Description));
        Assert.Equal([-1L], metadata.Inputs[1].Shape.ToArray());
        Assert.Equal(TensorType.String, metadata.Inputs[1].Type);
        Assert.Equal("scores", metadata.Outputs[0].Description);
    }

    /// <summary>A request table whose kind byte is <paramref name="kind"/> and that carries no request table.</summary>
    private static byte[] RequestOfKindWithoutTable(byte kind)
    {
        var b = new FlatBufferBuilder(64) { ForceDefaults = true };
        b.StartTable(2);
        b.AddByte(0, kind, 0);
        b.Finish(b.EndTable());
        return b.SizedByteArray();
    }

    [Fact]
    public void ReadRequest_InferKindWithoutRequestTable_Refused()
    {
        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(RequestOfKindWithoutTable((byte)RequestKind.Infer)));

        Assert.Contains("request says InferRequest but carries no request table", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RequestKind.None)]
    [InlineData(RequestKind.Metadata)]
    public void ReadRequest_KindWithoutRequestTable_ParsesAsThatKind(RequestKind kind)
    {
        var request = GraphPipeReader.ReadRequest(RequestOfKindWithoutTable((byte)kind));

        Assert.Equal(kind, request.Kind);
        Assert.Null(request.Infer);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(255)]
    public void ReadRequest_UnknownKind_RefusedNamingIt(byte kind)
    {
        var wire = Request();
        wire[SlotOfByte(wire, "0")] = kind;

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"unknown request type {kind}", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Position of a byte field (the last step of <paramref name="path"/>), as <see cref="SlotOf"/> finds offsets.</summary>
    private static int SlotOfByte(byte[] wire, string path)
    {
        var split = path.LastIndexOf('/');
        var reader = new FlatBufferReader(wire);
        var table = split < 0 ? reader.RootTable() : Follow(wire, SlotOf(wire, path[..split]));
        var pos = reader.FieldPosition(table, int.Parse(path[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), 1);
        Assert.True(pos > 0, $"{path} not found");
        return pos;
    }

    [Theory]
    [InlineData(0)]    // Null: a type without elements
    [InlineData(13)]   // one past String, the last type
    [InlineData(200)]
    public void ReadRequest_UnsupportedElementType_RefusedNamingTheTensorAndType(byte type)
    {
        var wire = Request();
        wire[SlotOfByte(wire, "1/2[1]/0")] = type;

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"input_tensors[1]: unsupported element type {type}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_NegativeDimension_RefusedEchoingTheShape()
    {
        var wire = ShapePatched(Request(), "1/2[0]", -2);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains("input_tensors[0]: shape [-2] has a negative dimension or too many elements", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ReadRequest_StringCountDisagreesWithShape_RefusedNamingBoth(long dimension)
    {
        var wire = ShapePatched(Request(), "1/2[1]", dimension);

        var ex = Assert.Throws<GraphPipeFormatException>(() => GraphPipeReader.ReadRequest(wire));

        Assert.Contains($"input_tensors[1]: shape [{dimension}] needs {dimension} strings, message has 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadRequest_EmptyShapeWithNoElements_Parses()
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest
        {
            Inputs = [Tensor.Create<float>([], 0, 3), Tensor.FromStrings(Array.Empty<ReadOnlyMemory<byte>>(), [0L, 2])],
        }).ToArray();

        var inputs = GraphPipeReader.ReadRequest(wire).Infer!.Inputs;

        Assert.Equal([0L, 3], inputs[0].Shape.ToArray());
        Assert.Equal(0, inputs[0].Data.Length);
        Assert.Empty(inputs[1].Strings);
        Assert.Equal([0L, 2], inputs[1].Shape.ToArray());
    }

    /// <summary>Overwrites the first dimension of the shape of the tensor at <paramref name="tensorPath"/>.</summary>
    private static byte[] ShapePatched(byte[] wire, string tensorPath, long dimension)
    {
        var reader = new FlatBufferReader(wire);
        var (start, count) = reader.ReadVectorField(Follow(wire, SlotOf(wire, tensorPath)), 1, 8, "path");
        Assert.True(count > 0, "shape is empty");
        BinaryPrimitives.WriteInt64LittleEndian(wire.AsSpan(start + 4), dimension);
        return wire;
    }

    [Fact]
    public void TryReadRequest_ValidMessage_ReturnsTrueWithoutError()
    {
        Assert.True(GraphPipeReader.TryReadRequest(Request(), out var request, out var error));
        Assert.Equal(RequestKind.Infer, request.Kind);
        Assert.Null(error);
    }
}
