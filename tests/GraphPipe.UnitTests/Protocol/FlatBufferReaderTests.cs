using System.Buffers.Binary;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>
/// The flatbuffers reader's table and vtable checks at their exact edges, on buffers laid out by hand: what sits
/// exactly at the start or the end of the message is read, one byte further is refused with a
/// <see cref="GraphPipeFormatException"/> naming what was wrong (never an out-of-range exception).
/// Written from Stryker's surviving mutants of <c>FlatBufferReader</c> (docs/testing.md).
/// </summary>
public sealed class FlatBufferReaderTests
{
    /// <summary>Little-endian writes into a zeroed buffer of <paramref name="length"/> bytes.</summary>
    private static byte[] Layout(int length, params (int At, int Value, int Size)[] writes)
    {
        var buffer = new byte[length];
        foreach (var (at, value, size) in writes)
        {
            if (size == 2) BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(at), (ushort)value);
            else BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(at), value);
        }

        return buffer;
    }

    /// <summary>
    /// 8 bytes: the root offset (4) doubles as a 4-byte vtable at position 0 (size 4, table size 0), and the
    /// table at 4 points back to it. Legal flatbuffers: a vtable may sit anywhere, including at 0.
    /// </summary>
    private static byte[] VtableAtStart() => Layout(8, (0, 4, 4), (4, 4, 4));

    /// <summary>12 bytes: root -> table at 4, whose vtable is the last 4 bytes (size <paramref name="vtableSize"/>, no fields).</summary>
    private static byte[] VtableAtEnd(int vtableSize = 4) => Layout(12, (0, 4, 4), (4, 4 - 8, 4), (8, vtableSize, 2), (10, 4, 2));

    [Fact]
    public void FieldPosition_VtableAtPositionZero_FieldAbsent()
    {
        var reader = new FlatBufferReader(VtableAtStart());
        var table = reader.RootTable();

        Assert.Equal(4, table);
        Assert.Equal(-1, reader.FieldPosition(table, 0, 4));
        Assert.Equal(-1, reader.ReadTableField(table, 0, "t"));
        Assert.Equal((-1, 0), reader.ReadVectorField(table, 0, 1, "v"));
        Assert.Equal((byte)7, reader.ReadByteField(table, 0, 7));
        Assert.Equal(0, reader.ReadInt64Field(table, 0));
        Assert.Equal(string.Empty, reader.ReadStringField(table, 0, "s"));
    }

    [Fact]
    public void FieldPosition_VtableEndingExactlyAtTheEnd_FieldAbsent()
    {
        var reader = new FlatBufferReader(VtableAtEnd());

        Assert.Equal(-1, reader.FieldPosition(reader.RootTable(), 0, 4));
    }

    [Theory]
    [InlineData(2, "invalid size 2")]   // shorter than its own header
    [InlineData(5, "invalid size 5")]   // odd: slots are 2 bytes
    [InlineData(6, "invalid size 6")]   // runs 2 bytes past the end of the message
    public void FieldPosition_BadVtableSize_RefusedNamingIt(int vtableSize, string expected)
    {
        var reader = new FlatBufferReader(VtableAtEnd(vtableSize));
        var table = reader.RootTable();

        var error = Assert.Throws<GraphPipeFormatException>(() => reader.FieldPosition(table, 0, 4));

        Assert.Contains($"vtable at 8 has an {expected}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-8)]  // vtable at 12 = the end of the message
    [InlineData(-6)]  // vtable at 10: its size would fit, the table-size half would not
    [InlineData(8)]   // vtable before the start
    public void FieldPosition_VtableOutsideTheMessage_RefusedNamingTheTable(int soffset)
    {
        var reader = new FlatBufferReader(Layout(12, (0, 4, 4), (4, soffset, 4), (8, 4, 2), (10, 4, 2)));

        var error = Assert.Throws<GraphPipeFormatException>(() => reader.FieldPosition(4, 0, 4));

        Assert.Contains("table at 4 has its vtable outside the buffer", error.Message, StringComparison.Ordinal);
    }

    /// <summary>root -> table at 10 with one int64 field (vtable at 4: size 6, field 0 at +4) ending exactly at the end.</summary>
    private static byte[] Int64FieldAtTheEnd(int length) => Layout(length, (0, 10, 4), (4, 6, 2), (6, 12, 2), (8, 4, 2), (10, 6, 4), (14, 0x01020304, 4), (18, 0x05060708, 4));

    [Fact]
    public void ReadInt64Field_FieldEndingExactlyAtTheEnd_Read()
    {
        var reader = new FlatBufferReader(Int64FieldAtTheEnd(22));

        Assert.Equal(0x0506070801020304L, reader.ReadInt64Field(reader.RootTable(), 0));
    }

    [Fact]
    public void ReadInt64Field_FieldRunningPastTheEnd_RefusedNamingTheField()
    {
        var buffer = Int64FieldAtTheEnd(22)[..21];
        var reader = new FlatBufferReader(buffer);

        var error = Assert.Throws<GraphPipeFormatException>(() => reader.ReadInt64Field(reader.RootTable(), 0));

        Assert.Contains("field 0 of table at 10 lies outside the buffer", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]   // the 4 bytes at 5 would end 1 past the end
    [InlineData(8)]   // at the end
    [InlineData(12)]  // past the end, within 4 more bytes
    public void RootTable_OffsetOutsideTheMessage_RefusedNamingTheRoot(int rootOffset)
    {
        var reader = new FlatBufferReader(Layout(8, (0, rootOffset, 4)));

        var error = Assert.Throws<GraphPipeFormatException>(() => reader.RootTable());

        Assert.Contains("root: offset at 0 points outside the buffer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RootTable_OffsetToTheLastFourBytes_Followed()
        => Assert.Equal(4, new FlatBufferReader(Layout(8, (0, 4, 4))).RootTable());

    /// <summary>A request with one string of each length the charges below need.</summary>
    private static byte[] Request() => new GraphPipeWriter().WriteInferRequest(new InferRequest
    {
        Config = "http://next",
        InputNames = ["a", "b"],
        Inputs = [Tensor.Create<float>([1f, 2f, 3f], 3), Tensor.FromStrings("x", "yz")],
        OutputNames = ["out"],
    }).ToArray();

    [Theory]
    [InlineData("root", 0)]                     // the root offset and vtables are not charged: writers share vtables
    [InlineData("byte field", 0)]               // inline scalars lie in a table already charged
    [InlineData("int64 element", 0)]            // in a vector already charged
    [InlineData("absent table field", 0)]
    [InlineData("absent vector field", 0)]
    [InlineData("table field", 4)]              // the table's header
    [InlineData("string field", 4 + 11)]        // length prefix and "http://next"
    [InlineData("bytes field", 4 + 12)]         // length prefix and three float32
    [InlineData("offset vector field", 4 + 8)]  // length prefix and two offsets
    [InlineData("int64 vector field", 4 + 8)]   // length prefix and one dimension
    [InlineData("offset element", 4)]           // the table it points at
    [InlineData("bytes element", 4 + 2)]        // the length prefix and "yz" it points at
    public void Read_OneItem_ChargesTheWireBytesItCovers(string item, long charge)
    {
        var reader = new FlatBufferReader(Request());
        var root = reader.RootTable();
        var infer = reader.ReadTableField(root, 1, "request.req");
        var (tensors, _) = reader.ReadVectorField(infer, 2, 4, "input_tensors");
        var floats = reader.ReadOffsetElement(tensors, 0, "input_tensors");
        var strings = reader.ReadOffsetElement(tensors, 1, "input_tensors");
        var (values, _) = reader.ReadVectorField(strings, 3, 4, "string_val");
        var (shape, _) = reader.ReadVectorField(floats, 1, 8, "shape");
        var before = reader.Budget.Spent;

        _ = item switch
        {
            "root" => reader.RootTable(),
            "byte field" => reader.ReadByteField(floats, 0),
            "int64 element" => reader.ReadInt64Element(shape, 0),
            "absent table field" => reader.ReadTableField(infer, 7, "absent"),
            "absent vector field" => reader.ReadVectorField(floats, 3, 4, "absent").Count,
            "table field" => reader.ReadTableField(root, 1, "request.req"),
            "string field" => reader.ReadStringField(infer, 0, "config").Length,
            "bytes field" => reader.ReadBytesField(floats, 2, "data").Length,
            "offset vector field" => reader.ReadVectorField(infer, 1, 4, "input_names").Count,
            "int64 vector field" => reader.ReadVectorField(floats, 1, 8, "shape").Count,
            "offset element" => reader.ReadOffsetElement(tensors, 1, "input_tensors"),
            "bytes element" => reader.ReadBytesElement(values, 1, "string_val").Length,
            _ => throw new ArgumentOutOfRangeException(nameof(item), item, null),
        };

        Assert.Equal(charge, reader.Budget.Spent - before);
    }

    [Theory]
    [InlineData("table field", "request.req")]
    [InlineData("offset element", "input_tensors")]
    [InlineData("bytes element", "string_val")]
    public void Read_OneByteOverTheBudget_RefusedNamingWhatWasRead(string item, string what)
    {
        var wire = Request();
        var reader = new FlatBufferReader(wire);
        var root = reader.RootTable();
        var infer = reader.ReadTableField(root, 1, "request.req");
        var (tensors, _) = reader.ReadVectorField(infer, 2, 4, "input_tensors");
        var strings = reader.ReadOffsetElement(tensors, 1, "input_tensors");
        var (values, _) = reader.ReadVectorField(strings, 3, 4, "string_val");
        var charge = item == "bytes element" ? 4 + 2 : 4;
        // Leaves one byte less than the read charges (a message cannot yield more than it carries).
        reader.Budget.Spend(wire.Length - reader.Budget.Spent - charge + 1, "setup");

        var ex = Assert.Throws<GraphPipeFormatException>(() => item switch
        {
            "table field" => reader.ReadTableField(root, 1, what),
            "offset element" => reader.ReadOffsetElement(tensors, 1, what),
            _ => reader.ReadBytesElement(values, 1, what).Length,
        });

        Assert.Contains($"{what}: the message refers to more data than it carries ({wire.Length + 1} bytes decoded from a {wire.Length}-byte message)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ExactlyTheBudget_Allowed()
    {
        var wire = Request();
        var reader = new FlatBufferReader(wire);
        var root = reader.RootTable();
        reader.Budget.Spend(wire.Length - 4, "setup");

        Assert.True(reader.ReadTableField(root, 1, "request.req") > 0);
        Assert.Equal(wire.Length, reader.Budget.Spent);
    }
}
