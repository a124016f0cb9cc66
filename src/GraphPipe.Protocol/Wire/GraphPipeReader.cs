using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace GraphPipe.Wire;

/// <summary>
/// Parses GraphPipe messages in place. Tensor data and string elements of the result are views of the
/// given buffer (no copies), so the buffer must outlive the parsed message.
/// </summary>
public static class GraphPipeReader
{
    /// <summary>
    /// Most dimensions a tensor shape may have. ONNX Runtime and numpy stop at 32 and 64; no model needs more,
    /// and a longer shape only makes every message that echoes it longer.
    /// </summary>
    public const int MaxRank = 32;

    // Field ids, in schema order (a union takes two ids: its type then its value).
    private const int RequestReqType = 0, RequestReq = 1;
    private const int InferConfig = 0, InferInputNames = 1, InferInputTensors = 2, InferOutputNames = 3;
    private const int TensorTypeField = 0, TensorShape = 1, TensorData = 2, TensorStringVal = 3;
    private const int ResponseOutputTensors = 0, ResponseErrors = 1;
    private const int ErrorCode = 0, ErrorMessage = 1;
    private const int MetaName = 0, MetaVersion = 1, MetaServer = 2, MetaDescription = 3, MetaInputs = 4, MetaOutputs = 5;
    private const int IoName = 0, IoDescription = 1, IoShape = 2, IoType = 3;

    /// <summary>Parses a <c>Request</c>. Throws <see cref="GraphPipeFormatException"/> when the buffer is malformed.</summary>
    public static GraphPipeRequest ReadRequest(ReadOnlyMemory<byte> buffer)
    {
        var reader = new FlatBufferReader(buffer);
        var root = reader.RootTable();
        var kind = reader.ReadByteField(root, RequestReqType);
        switch (kind)
        {
            case (byte)RequestKind.Infer:
                var table = reader.ReadTableField(root, RequestReq, "request.req");
                // Stryker disable once Equality : a table position is -1 or a field position plus an unsigned offset, never 0, so < 0 and <= 0 agree
                if (table < 0)
                {
                    throw FlatBufferReader.Malformed("request says InferRequest but carries no request table");
                }

                return new GraphPipeRequest { Kind = RequestKind.Infer, Infer = ReadInferRequest(reader, table) };
            case (byte)RequestKind.Metadata:
                return new GraphPipeRequest { Kind = RequestKind.Metadata };
            case (byte)RequestKind.None:
                // The Go server answers metadata to anything that is not an InferRequest.
                return new GraphPipeRequest { Kind = RequestKind.None };
            default:
                throw FlatBufferReader.Malformed($"unknown request type {kind}");
        }
    }

    /// <summary>Like <see cref="ReadRequest"/> but reports a malformed buffer as an error message.</summary>
    public static bool TryReadRequest(ReadOnlyMemory<byte> buffer, [NotNullWhen(true)] out GraphPipeRequest? request, [NotNullWhen(false)] out string? error)
    {
        try
        {
            request = ReadRequest(buffer);
            error = null;
            return true;
        }
        catch (GraphPipeFormatException ex)
        {
            request = null;
            error = ex.Message;
            return false;
        }
    }

    /// <summary>Parses an <c>InferResponse</c> (the root of a response to an inference request).</summary>
    public static InferResponse ReadInferResponse(ReadOnlyMemory<byte> buffer)
    {
        var reader = new FlatBufferReader(buffer);
        var root = reader.RootTable();
        var tensors = ReadTensors(reader, root, ResponseOutputTensors, "output_tensors");
        var (errStart, errCount) = reader.ReadVectorField(root, ResponseErrors, 4, "errors");
        // Stryker disable once Conditional : an empty array either way; the shortcut only saves an allocation
        var errors = errCount == 0 ? [] : new GraphPipeError[errCount];
        for (var i = 0; i < errCount; i++)
        {
            var e = reader.ReadOffsetElement(errStart, i, "errors");
            errors[i] = new GraphPipeError(reader.ReadInt64Field(e, ErrorCode), reader.ReadStringField(e, ErrorMessage, "error.message"));
        }

        return new InferResponse { Outputs = tensors, Errors = errors };
    }

    /// <summary>Parses a <c>StageMetadata</c>.</summary>
    public static StageMetadata ReadMetadataResponse(ReadOnlyMemory<byte> buffer)
    {
        var reader = new FlatBufferReader(buffer);
        var root = reader.RootTable();
        return new StageMetadata
        {
            Name = reader.ReadStringField(root, MetaName, "name"),
            Version = reader.ReadStringField(root, MetaVersion, "version"),
            Server = reader.ReadStringField(root, MetaServer, "server"),
            Description = reader.ReadStringField(root, MetaDescription, "description"),
            Inputs = ReadIo(reader, root, MetaInputs, "inputs"),
            Outputs = ReadIo(reader, root, MetaOutputs, "outputs"),
        };
    }

    private static InferRequest ReadInferRequest(FlatBufferReader reader, int table) => new()
    {
        Config = reader.ReadStringField(table, InferConfig, "config"),
        InputNames = ReadStrings(reader, table, InferInputNames, "input_names"),
        Inputs = ReadTensors(reader, table, InferInputTensors, "input_tensors"),
        OutputNames = ReadStrings(reader, table, InferOutputNames, "output_names"),
    };

    private static string[] ReadStrings(FlatBufferReader reader, int table, int field, string what)
    {
        var (start, count) = reader.ReadVectorField(table, field, 4, what);
        // Stryker disable once Block : without the shortcut the loop below fills an empty array: the same result, one allocation more
        if (count == 0)
        {
            return [];
        }

        var result = new string[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = System.Text.Encoding.UTF8.GetString(reader.ReadBytesElement(start, i, what).Span);
        }

        return result;
    }

    private static Tensor[] ReadTensors(FlatBufferReader reader, int table, int field, string what)
    {
        var (start, count) = reader.ReadVectorField(table, field, 4, what);
        // Stryker disable once Block : without the shortcut the loop below fills an empty array: the same result, one allocation more
        if (count == 0)
        {
            return [];
        }

        var result = new Tensor[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = ReadTensor(reader, reader.ReadOffsetElement(start, i, what), new FieldPath(what, i));
        }

        return result;
    }

    private static Tensor ReadTensor(FlatBufferReader reader, int table, FieldPath what)
    {
        var typeId = reader.ReadByteField(table, TensorTypeField);
        var type = (TensorType)typeId;
        if (!type.IsDefined() || type == TensorType.Null)
        {
            throw FlatBufferReader.Malformed($"{what}: unsupported element type {typeId}");
        }

        var shape = ReadShape(reader, table, TensorShape, what);
        var count = Tensor.ElementCountOf(shape.AsSpan());
        if (count < 0)
        {
            throw FlatBufferReader.Malformed($"{what}: shape {Echo.Shape(shape.AsSpan())} has a negative dimension or too many elements");
        }

        if (type == TensorType.String)
        {
            var elements = what.Member("string_val");
            var (start, n) = reader.ReadVectorField(table, TensorStringVal, 4, elements);
            if (n != count)
            {
                throw FlatBufferReader.Malformed($"{what}: shape {Echo.Shape(shape.AsSpan())} needs {count} strings, message has {n}");
            }

            var strings = new ReadOnlyMemory<byte>[n];
            for (var i = 0; i < n; i++)
            {
                // Length-prefixed: Go writes no NUL terminator, so never look for one.
                strings[i] = reader.ReadBytesElement(start, i, elements);
            }

            return Tensor.CreateUnchecked(type, shape, ReadOnlyMemory<byte>.Empty, strings);
        }

        var data = reader.ReadBytesField(table, TensorData, what.Member("data"));
        // 128-bit: count * element size can exceed 2^64 (e.g. [2^60,4] of float32), and a wrapped product could match the data.
        var expected = (UInt128)(ulong)count * (uint)type.ElementSize();
        if ((UInt128)(ulong)data.Length != expected)
        {
            throw FlatBufferReader.Malformed($"{what}: shape {Echo.Shape(shape.AsSpan())} of {type.ToWireName()} needs {expected} data bytes, message has {data.Length}");
        }

        return Tensor.CreateUnchecked(type, shape, data, null);
    }

    private static ImmutableArray<long> ReadShape(FlatBufferReader reader, int table, int field, FieldPath what)
    {
        var path = what.Member("shape");
        var (start, count) = reader.ReadVectorField(table, field, 8, path);
        if (count == 0)
        {
            return [];
        }

        if (count > MaxRank)
        {
            throw FlatBufferReader.Malformed($"{path}: {count} dimensions exceed the limit of {MaxRank}");
        }

        var dims = new long[count];
        for (var i = 0; i < count; i++)
        {
            dims[i] = reader.ReadInt64Element(start, i);
        }

        return ImmutableCollectionsMarshalShim.AsImmutable(dims);
    }

    private static IOMetadata[] ReadIo(FlatBufferReader reader, int table, int field, string what)
    {
        var (start, count) = reader.ReadVectorField(table, field, 4, what);
        // Stryker disable once Block : without the shortcut the loop below fills an empty array: the same result, one allocation more
        if (count == 0)
        {
            return [];
        }

        var result = new IOMetadata[count];
        for (var i = 0; i < count; i++)
        {
            var io = reader.ReadOffsetElement(start, i, what);
            var typeId = reader.ReadByteField(io, IoType);
            result[i] = new IOMetadata(
                reader.ReadStringField(io, IoName, new FieldPath(what, i, "name")),
                (TensorType)typeId,
                ReadShape(reader, io, IoShape, new FieldPath(what, i)),
                reader.ReadStringField(io, IoDescription, new FieldPath(what, i, "description")));
        }

        return result;
    }
}

internal static class ImmutableCollectionsMarshalShim
{
    public static ImmutableArray<long> AsImmutable(long[] array)
        => System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(array);
}
