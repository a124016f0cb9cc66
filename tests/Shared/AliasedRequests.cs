using Google.FlatBuffers;

namespace GraphPipe.TestMessages;

/// <summary>
/// Hand-built requests in which many vector entries point at one object, as flatbuffers allows and no
/// honest writer does; the library's writer cannot produce them. Shared by unit and functional tests.
/// </summary>
internal static class AliasedRequests
{
    /// <summary>
    /// One string tensor whose <paramref name="stringRefs"/> elements all point at one empty string,
    /// listed <paramref name="tensorRefs"/> times in input_tensors.
    /// </summary>
    public static byte[] StringTensor(int stringRefs, int tensorRefs)
    {
        var b = new FlatBufferBuilder(1024 + (4 * stringRefs) + (4 * tensorRefs));
        var empty = b.CreateString(string.Empty);
        b.StartVector(4, stringRefs, 4);
        for (var i = 0; i < stringRefs; i++) b.AddOffset(empty.Value);
        var strings = b.EndVector();
        b.StartVector(8, 1, 8);
        b.AddLong(stringRefs);
        var shape = b.EndVector();
        b.StartTable(4);
        b.AddOffset(3, strings.Value, 0);
        b.AddOffset(1, shape.Value, 0);
        b.AddByte(0, (byte)TensorType.String, 0);
        var tensor = b.EndTable();
        b.StartVector(4, tensorRefs, 4);
        for (var i = 0; i < tensorRefs; i++) b.AddOffset(tensor);
        var tensors = b.EndVector();
        return Finish(b, tensors, default);
    }

    /// <summary>input_names with <paramref name="nameRefs"/> entries all pointing at one name of <paramref name="nameLength"/> characters.</summary>
    public static byte[] InputNames(int nameRefs, int nameLength)
    {
        var b = new FlatBufferBuilder(1024 + nameLength + (4 * nameRefs));
        var name = b.CreateString(new string('n', nameLength));
        b.StartVector(4, nameRefs, 4);
        for (var i = 0; i < nameRefs; i++) b.AddOffset(name.Value);
        var names = b.EndVector();
        return Finish(b, default, names);
    }

    private static byte[] Finish(FlatBufferBuilder b, VectorOffset tensors, VectorOffset names)
    {
        b.StartTable(4);
        if (tensors.Value != 0) b.AddOffset(2, tensors.Value, 0);
        if (names.Value != 0) b.AddOffset(1, names.Value, 0);
        var infer = b.EndTable();
        b.StartTable(2);
        b.AddOffset(1, infer, 0);
        b.AddByte(0, (byte)RequestKind.Infer, 0);
        b.Finish(b.EndTable());
        return b.SizedByteArray();
    }
}
