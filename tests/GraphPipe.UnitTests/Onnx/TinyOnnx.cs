using System.Text;

namespace GraphPipe.UnitTests;

/// <summary>
/// Writes small ONNX models (opset 13, IR version 8, like tests/assets/models) as protobuf, field by field from
/// onnx.proto, for shapes the committed models do not have: rows whose output shape varies, a scalar input, no
/// inputs, non-tensor outputs, bool and zero-sized dimensions. The test machine has no python3-onnx to run
/// tools/onnx/make_test_models.py, and these models are only meaningful to the tests that build them.
/// </summary>
internal static class TinyOnnx
{
    public const int FloatType = 1, UInt8Type = 2, Int64Type = 7, StringType = 8, BoolType = 9, BFloat16Type = 16;

    /// <summary>One value: name, element type and dimensions (a number, or a name for a dynamic dimension).</summary>
    public sealed record Value(string Name, int ElementType, params object[] Dims);

    public sealed record Node(string OpType, string[] Inputs, string[] Outputs, params byte[][] Attributes);

    /// <summary>A model file in the temp directory; deleted when disposed.</summary>
    public sealed class File : IDisposable
    {
        public File(byte[] model)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"graphpipe-tiny-{Guid.NewGuid():N}.onnx");
            System.IO.File.WriteAllBytes(Path, model);
        }

        public string Path { get; }

        public void Dispose() => System.IO.File.Delete(Path);
    }

    public static byte[] Model(Value[] inputs, Value[] outputs, Node[] nodes, byte[][]? initializers = null, long? version = null, string? doc = null, Value[]? sequenceOutputs = null)
    {
        var graph = new Proto();
        foreach (var node in nodes)
        {
            var n = new Proto();
            foreach (var i in node.Inputs) n.String(1, i);
            foreach (var o in node.Outputs) n.String(2, o);
            n.String(4, node.OpType);
            foreach (var a in node.Attributes) n.Bytes(5, a);
            graph.Bytes(1, n.ToArray());
        }

        graph.String(2, "tiny");
        foreach (var t in initializers ?? []) graph.Bytes(5, t);
        foreach (var v in inputs) graph.Bytes(11, ValueInfo(v, sequence: false));
        foreach (var v in outputs) graph.Bytes(12, ValueInfo(v, sequence: false));
        foreach (var v in sequenceOutputs ?? []) graph.Bytes(12, ValueInfo(v, sequence: true));

        var model = new Proto();
        model.Varint(1, 8);
        model.String(2, "graphpipe-tiny-onnx");
        if (version is { } modelVersion) model.Varint(5, (ulong)modelVersion);
        if (doc is not null) model.String(6, doc);
        model.Bytes(7, graph.ToArray());
        var opset = new Proto();
        opset.String(1, string.Empty);
        opset.Varint(2, 13);
        model.Bytes(8, opset.ToArray());
        return model.ToArray();
    }

    /// <summary>A tensor (for an initializer or a tensor attribute) of int64 or raw bytes.</summary>
    public static byte[] Tensor(string name, int elementType, long[] dims, byte[] raw)
    {
        var t = new Proto();
        foreach (var d in dims) t.Varint(1, (ulong)d);
        t.Varint(2, (ulong)elementType);
        t.String(8, name);
        t.Bytes(9, raw);
        return t.ToArray();
    }

    public static byte[] Int64s(params long[] values) => [.. values.SelectMany(BitConverter.GetBytes)];

    public static byte[] TensorAttribute(string name, byte[] tensor)
    {
        var a = new Proto();
        a.String(1, name);
        a.Bytes(5, tensor);
        a.Varint(20, 4);
        return a.ToArray();
    }

    public static byte[] IntAttribute(string name, long value)
    {
        var a = new Proto();
        a.String(1, name);
        a.Varint(3, (ulong)value);
        a.Varint(20, 2);
        return a.ToArray();
    }

    private static byte[] ValueInfo(Value v, bool sequence)
    {
        var shape = new Proto();
        foreach (var d in v.Dims)
        {
            var dim = new Proto();
            if (d is string param) dim.String(2, param);
            else dim.Varint(1, (ulong)Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture));
            shape.Bytes(1, dim.ToArray());
        }

        var tensor = new Proto();
        tensor.Varint(1, (ulong)v.ElementType);
        tensor.Bytes(2, shape.ToArray());
        var type = new Proto();
        type.Bytes(1, tensor.ToArray());
        if (sequence)
        {
            var seq = new Proto();
            seq.Bytes(1, type.ToArray());
            type = new Proto();
            type.Bytes(4, seq.ToArray());
        }

        var info = new Proto();
        info.String(1, v.Name);
        info.Bytes(2, type.ToArray());
        return info.ToArray();
    }

    /// <summary>Protobuf wire format: varints (type 0) and length-delimited fields (type 2).</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();

        public void Varint(int field, ulong value)
        {
            Raw(((ulong)field << 3) | 0);
            Raw(value);
        }

        public void Bytes(int field, byte[] value)
        {
            Raw(((ulong)field << 3) | 2);
            Raw((ulong)value.Length);
            _bytes.Write(value);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public byte[] ToArray() => _bytes.ToArray();

        private void Raw(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.WriteByte((byte)value);
        }
    }
}
