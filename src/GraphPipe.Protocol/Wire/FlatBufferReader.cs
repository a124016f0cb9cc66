using System.Buffers.Binary;

namespace GraphPipe.Wire;

/// <summary>
/// A bounds-checked flatbuffers reader. Every offset is validated before it is followed, so a malformed
/// buffer yields a <see cref="GraphPipeFormatException"/> rather than an out-of-range access; every loop
/// is bounded by a length already checked against the buffer, so no input can make it spin. Every vector,
/// string and table followed is charged to one <see cref="ParseBudget"/>, so shared (aliased) objects
/// cannot make a parse decode more than the message carries.
/// </summary>
internal readonly struct FlatBufferReader
{
    public FlatBufferReader(ReadOnlyMemory<byte> buffer)
    {
        Buffer = buffer;
        Budget = ParseBudget.For(buffer);
    }

    public ReadOnlyMemory<byte> Buffer { get; }

    /// <summary>Shared by every copy of this reader (it is a struct), so one parse has one budget.</summary>
    public ParseBudget Budget { get; }

    private ReadOnlySpan<byte> Span => Buffer.Span;

    /// <summary>Position of the root table.</summary>
    public int RootTable()
    {
        if (Buffer.Length < 8)
        {
            throw Malformed($"message is {Buffer.Length} bytes, shorter than the smallest flatbuffer (8)");
        }

        return FollowOffset(0, "root");
    }

    /// <summary>Position of field <paramref name="field"/> of the table at <paramref name="table"/>, or -1 when absent.</summary>
    public int FieldPosition(int table, int field, int size)
    {
        // Stryker disable once Statement,String : callers pass positions FollowOffset or FieldPosition already checked; kept as a second line of defence, so mutating it changes nothing observable
        CheckRange(table, 4, "table");
        var vtable = (long)table - BinaryPrimitives.ReadInt32LittleEndian(Span.Slice(table));
        if (vtable < 0 || vtable > Buffer.Length - 4)
        {
            throw Malformed($"table at {table} has its vtable outside the buffer");
        }

        var vt = (int)vtable;
        int vtableSize = BinaryPrimitives.ReadUInt16LittleEndian(Span.Slice(vt));
        if (vtableSize < 4 || (vtableSize & 1) != 0 || vt + vtableSize > Buffer.Length)
        {
            throw Malformed($"vtable at {vt} has an invalid size {vtableSize}");
        }

        var slot = 4 + (2 * field);
        if (slot + 2 > vtableSize)
        {
            return -1;
        }

        int fieldOffset = BinaryPrimitives.ReadUInt16LittleEndian(Span.Slice(vt + slot));
        if (fieldOffset == 0)
        {
            return -1;
        }

        var pos = (long)table + fieldOffset;
        if (pos + size > Buffer.Length)
        {
            throw Malformed($"field {field} of table at {table} lies outside the buffer");
        }

        return (int)pos;
    }

    public byte ReadByteField(int table, int field, byte defaultValue = 0)
    {
        var pos = FieldPosition(table, field, 1);
        // Stryker disable once Equality : a field position is -1 or table + a non-zero field offset, never 0, so < 0 and <= 0 agree
        return pos < 0 ? defaultValue : Span[pos];
    }

    public long ReadInt64Field(int table, int field)
    {
        var pos = FieldPosition(table, field, 8);
        // Stryker disable once Equality : a field position is -1 or table + a non-zero field offset, never 0, so < 0 and <= 0 agree
        return pos < 0 ? 0 : BinaryPrimitives.ReadInt64LittleEndian(Span.Slice(pos));
    }

    /// <summary>Position of the table referenced by field, or -1.</summary>
    public int ReadTableField(int table, int field, FieldPath what)
    {
        var pos = FieldPosition(table, field, 4);
        // Stryker disable once Equality : a field position is -1 or table + a non-zero field offset, never 0, so < 0 and <= 0 agree
        if (pos < 0)
        {
            return -1;
        }

        Budget.Spend(4, what);
        return FollowOffset(pos, what);
    }

    /// <summary>Start (position of the length) and element count of a vector field, or (-1, 0) when absent.</summary>
    public (int Start, int Count) ReadVectorField(int table, int field, int elementSize, FieldPath what)
    {
        var pos = FieldPosition(table, field, 4);
        // Stryker disable once Equality : a field position is -1 or table + a non-zero field offset, never 0, so < 0 and <= 0 agree
        if (pos < 0)
        {
            return (-1, 0);
        }

        var vec = FollowOffset(pos, what);
        var length = ReadVectorLength(vec, elementSize, what);
        // Charged before the caller allocates anything per element.
        Budget.Spend(4 + ((long)length * elementSize), what);
        return (vec, length);
    }

    /// <summary>The bytes of a string or [ubyte] field (without any terminator), or empty when absent.</summary>
    public ReadOnlyMemory<byte> ReadBytesField(int table, int field, FieldPath what)
    {
        var (start, count) = ReadVectorField(table, field, 1, what);
        // Stryker disable once Equality,Conditional : a vector start is -1 or a field position plus an unsigned offset, never 0, so < 0 and <= 0 agree; an absent vector has count 0, so slicing it would give an empty view as well
        return start < 0 ? ReadOnlyMemory<byte>.Empty : Buffer.Slice(start + 4, count);
    }

    public string ReadStringField(int table, int field, FieldPath what)
    {
        // An absent or empty string decodes to the empty string.
        return DecodeUtf8(ReadBytesField(table, field, what).Span);
    }

    /// <summary>Follows the offset stored in element <paramref name="index"/> of an offset vector.</summary>
    public int ReadOffsetElement(int vectorStart, int index, FieldPath what)
    {
        // The slot itself was charged with its vector; this is the target's table header or length prefix.
        Budget.Spend(4, what);
        return FollowOffset(vectorStart + 4 + (4 * index), what);
    }

    /// <summary>The bytes of a string (or byte vector) referenced by element <paramref name="index"/> of an offset vector.</summary>
    public ReadOnlyMemory<byte> ReadBytesElement(int vectorStart, int index, FieldPath what)
    {
        var str = ReadOffsetElement(vectorStart, index, what);
        var length = ReadVectorLength(str, 1, what);
        Budget.Spend(length, what);
        return Buffer.Slice(str + 4, length);
    }

    public long ReadInt64Element(int vectorStart, int index)
        => BinaryPrimitives.ReadInt64LittleEndian(Span.Slice(vectorStart + 4 + (8 * index)));

    private int ReadVectorLength(int vec, int elementSize, FieldPath what)
    {
        // Stryker disable once Statement : callers pass positions FollowOffset or FieldPosition already checked; kept as a second line of defence, so mutating it changes nothing observable
        CheckRange(vec, 4, what);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(Span.Slice(vec));
        var bytes = (ulong)length * (ulong)elementSize;
        if (bytes > (ulong)(Buffer.Length - vec - 4))
        {
            throw Malformed($"{what}: vector of {length} elements at {vec} runs past the end of the buffer");
        }

        return (int)length;
    }

    private int FollowOffset(int pos, FieldPath what)
    {
        // Stryker disable once Statement : callers pass positions FollowOffset or FieldPosition already checked; kept as a second line of defence, so mutating it changes nothing observable
        CheckRange(pos, 4, what);
        var target = (ulong)pos + BinaryPrimitives.ReadUInt32LittleEndian(Span.Slice(pos));
        if (target > (ulong)(Buffer.Length - 4))
        {
            throw Malformed($"{what}: offset at {pos} points outside the buffer");
        }

        return (int)target;
    }

    // Stryker disable all : callers pass positions FollowOffset or FieldPosition already checked; kept as a second line of defence, so mutating it changes nothing observable
    private void CheckRange(int pos, int size, FieldPath what)
    {
        if (pos < 0 || (long)pos + size > Buffer.Length)
        {
            throw Malformed($"{what}: position {pos} is outside the buffer");
        }
    }

    // Stryker restore all

    private static string DecodeUtf8(ReadOnlySpan<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes);

    public static GraphPipeFormatException Malformed(string detail) => new($"Malformed GraphPipe message: {detail}.");
}
