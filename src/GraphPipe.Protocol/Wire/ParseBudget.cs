namespace GraphPipe.Wire;

/// <summary>
/// Bounds what one parse may decode by the size of the message. FlatBuffers lets many offsets point at
/// one object, so a small message could otherwise name the same string or tensor millions of times and
/// make the parser (and every stage that walks the result) allocate far more than it received.
/// </summary>
/// <remarks>
/// Every decoded item spends the wire bytes it occupies: an offset slot 4, a vector or string its length
/// prefix plus its elements, a table 4. Without aliasing these regions are disjoint, so any well-formed
/// message spends at most its own length; a message that spends more must be re-reading shared objects.
/// Vtables are not charged: writers share them legitimately.
/// </remarks>
internal sealed class ParseBudget
{
    private readonly long _limit;
    private long _spent;

    public ParseBudget(long limit)
    {
        _limit = limit;
    }

    /// <summary>Bytes charged so far.</summary>
    public long Spent => _spent;

    /// <summary>A budget of the message's own length: a message cannot yield more than it carries.</summary>
    public static ParseBudget For(ReadOnlyMemory<byte> buffer) => new(buffer.Length);

    /// <summary>Charges <paramref name="bytes"/> to the parse; throws, naming <paramref name="what"/>, once the message has yielded more than it carries.</summary>
    public void Spend(long bytes, FieldPath what)
    {
        _spent += bytes;
        if (_spent > _limit)
        {
            throw FlatBufferReader.Malformed(
                $"{what}: the message refers to more data than it carries ({_spent} bytes decoded from a {_limit}-byte message); entries that point at one shared object are refused");
        }
    }
}
