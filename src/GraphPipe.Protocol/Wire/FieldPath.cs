namespace GraphPipe.Wire;

/// <summary>
/// The field a parse is reading, for error messages (<c>input_tensors[3].shape</c>). Kept in parts and
/// formatted only when a message is written: a request carries thousands of tensors or string elements,
/// and naming each one eagerly cost an allocation per element on every parse.
/// </summary>
internal readonly struct FieldPath
{
    private readonly string _field;
    private readonly int _index;
    private readonly string? _member;

    public FieldPath(string field, int index = -1, string? member = null)
    {
        _field = field;
        _index = index;
        _member = member;
    }

    public static implicit operator FieldPath(string field) => new(field);

    /// <summary>This path's <paramref name="member"/> (one level: <c>field[i].member</c>).</summary>
    public FieldPath Member(string member) => new(_field, _index, member);

    public override string ToString() => (_index, _member) switch
    {
        ( < 0, null) => _field,
        ( < 0, _) => $"{_field}.{_member}",
        (_, null) => $"{_field}[{_index}]",
        _ => $"{_field}[{_index}].{_member}",
    };
}
