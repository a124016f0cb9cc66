using System.Runtime.InteropServices;
using Google.Protobuf;
using GraphPipe.Server.OpenInference.Wire;

namespace GraphPipe.Server.OpenInference.Grpc;

/// <summary>
/// gRPC tensors to GraphPipe tensors and back. <c>raw_input_contents</c> are viewed where
/// <see cref="RawFieldReader"/> put them and <c>bytes_contents</c> where protobuf put them (no copy); typed
/// numbers are copied once into rented arrays. Outputs go back as <c>raw_output_contents</c> that are the
/// stage's own buffers (written by <see cref="RawFieldWriter"/>), or as typed contents when the request
/// sent typed contents.
/// </summary>
internal static class ProtoTensors
{
    public static InferRequest? ToRequest(ModelInferRequest request, IReadOnlyList<ReadOnlyMemory<byte>> raw, RentedBuffers rentals, out string? error)
    {
        error = null;
        if (raw.Count > 0 && raw.Count != request.Inputs.Count)
        {
            error = $"raw_input_contents has {raw.Count} entries for {request.Inputs.Count} inputs (one per input, in order)";
            return null;
        }

        var names = new string[request.Inputs.Count];
        var tensors = new Tensor[request.Inputs.Count];
        for (var i = 0; i < names.Length; i++)
        {
            var input = request.Inputs[i];
            var name = input.Name;
            if (string.IsNullOrEmpty(name))
            {
                error = $"input {i} has no name";
                return null;
            }

            if (!OipDatatype.TryParse(input.Datatype, out var type, out var isBool))
            {
                error = $"input '{Echo.Name(name)}': datatype '{Echo.Name(input.Datatype)}' is not one of {OipDatatype.Supported}";
                return null;
            }

            var shape = ShapeOf(input.Shape);
            Tensor? tensor;
            if (raw.Count > 0)
            {
                if (input.Contents is not null)
                {
                    error = $"input '{Echo.Name(name)}': contents given together with raw_input_contents (use one or the other)";
                    return null;
                }

                tensor = RawTensors.Read(name, type, isBool, shape, raw[i], out error);
            }
            else
            {
                tensor = FromContents(name, type, isBool, shape, input.Contents, rentals, out error);
            }

            if (tensor is null)
            {
                return null;
            }

            names[i] = name;
            tensors[i] = tensor;
        }

        var outputs = new string[request.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = request.Outputs[i].Name;
        }

        var config = request.Parameters.TryGetValue(OipParameters.Next, out var next) ? next.StringParam : string.Empty;
        return new InferRequest { InputNames = names, Inputs = tensors, OutputNames = outputs, Config = config };
    }

    private static long[] ShapeOf(IList<long> dims)
    {
        var shape = new long[dims.Count];
        dims.CopyTo(shape, 0);
        return shape;
    }

    private static Tensor? FromContents(string name, TensorType type, bool isBool, long[] shape, InferTensorContents? contents, RentedBuffers rentals, out string? error)
    {
        var count = RawTensors.ElementCount(name, shape, out error);
        if (count < 0)
        {
            return null;
        }

        contents ??= new InferTensorContents();
        if (type == TensorType.String)
        {
            var bytes = contents.BytesContents;
            if (!Fits(name, bytes.Count, count, shape, out error))
            {
                return null;
            }

            var elements = new ReadOnlyMemory<byte>[bytes.Count];
            for (var i = 0; i < elements.Length; i++)
            {
                elements[i] = bytes[i].Memory;
            }

            return Tensor.FromStrings(elements, shape);
        }

        int given = isBool ? contents.BoolContents.Count : type switch
        {
            TensorType.Int8 or TensorType.Int16 or TensorType.Int32 => contents.IntContents.Count,
            TensorType.Int64 => contents.Int64Contents.Count,
            TensorType.UInt8 or TensorType.UInt16 or TensorType.UInt32 => contents.UintContents.Count,
            TensorType.UInt64 => contents.Uint64Contents.Count,
            TensorType.Float32 => contents.Fp32Contents.Count,
            TensorType.Float64 => contents.Fp64Contents.Count,
            _ => -1,
        };
        if (given < 0)
        {
            error = $"input '{Echo.Name(name)}': FP16 has no typed contents; send it in raw_input_contents";
            return null;
        }

        if (!Fits(name, given, count, shape, out error))
        {
            return null;
        }

        var size = type.ElementSize();
        var buffer = rentals.Rent(given * size);
        var span = buffer.AsSpan(0, given * size);
        if (isBool)
        {
            for (var i = 0; i < given; i++) span[i] = contents.BoolContents[i] ? (byte)1 : (byte)0;
        }
        else
        {
            switch (type)
            {
                case TensorType.Int8: if (!Narrow(contents.IntContents, MemoryMarshal.Cast<byte, sbyte>(span), sbyte.MinValue, sbyte.MaxValue, name, out error)) return null; break;
                case TensorType.Int16: if (!Narrow(contents.IntContents, MemoryMarshal.Cast<byte, short>(span), short.MinValue, short.MaxValue, name, out error)) return null; break;
                case TensorType.Int32: Copy(contents.IntContents, MemoryMarshal.Cast<byte, int>(span)); break;
                case TensorType.Int64: Copy(contents.Int64Contents, MemoryMarshal.Cast<byte, long>(span)); break;
                case TensorType.UInt8: if (!NarrowUnsigned(contents.UintContents, span, byte.MaxValue, name, out error)) return null; break;
                case TensorType.UInt16: if (!NarrowUnsigned(contents.UintContents, MemoryMarshal.Cast<byte, ushort>(span), ushort.MaxValue, name, out error)) return null; break;
                case TensorType.UInt32: Copy(contents.UintContents, MemoryMarshal.Cast<byte, uint>(span)); break;
                case TensorType.UInt64: Copy(contents.Uint64Contents, MemoryMarshal.Cast<byte, ulong>(span)); break;
                case TensorType.Float32: Copy(contents.Fp32Contents, MemoryMarshal.Cast<byte, float>(span)); break;
                case TensorType.Float64: Copy(contents.Fp64Contents, MemoryMarshal.Cast<byte, double>(span)); break;
            }
        }

        return Tensor.FromBytes(type, shape, buffer.AsMemory(0, given * size));
    }

    private static bool Fits(string name, int given, long count, long[] shape, out string? error)
    {
        error = given == count ? null : $"input '{Echo.Name(name)}': contents have {given} elements; shape {Echo.Shape(shape)} needs {count}";
        return error is null;
    }

    private static bool Narrow<T>(IList<int> values, Span<T> destination, int min, int max, string name, out string? error) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        error = null;
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (v < min || v > max)
            {
                error = $"input '{Echo.Name(name)}': element {i} ({v}) is out of range [{min}, {max}]";
                return false;
            }

            destination[i] = T.CreateTruncating(v);
        }

        return true;
    }

    private static bool NarrowUnsigned<T>(IList<uint> values, Span<T> destination, uint max, string name, out string? error) where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        error = null;
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (v > max)
            {
                error = $"input '{Echo.Name(name)}': element {i} ({v}) is out of range [0, {max}]";
                return false;
            }

            destination[i] = T.CreateTruncating(v);
        }

        return true;
    }

    private static void Copy<T>(Google.Protobuf.Collections.RepeatedField<T> values, Span<T> destination)
    {
        for (var i = 0; i < values.Count; i++)
        {
            destination[i] = values[i];
        }
    }

    /// <summary>Fills the response's outputs and gives their raw contents (the stage's buffers, no copy), or none when typed.</summary>
    public static IReadOnlyList<ReadOnlyMemory<byte>> AddOutputs(ModelInferResponse response, IReadOnlyList<string> names, IReadOnlyList<Tensor> outputs, bool typed, RentedBuffers rentals)
    {
        // FP16 has no typed field, and raw and typed cannot be mixed in one response.
        if (typed)
        {
            foreach (var tensor in outputs)
            {
                if (tensor.Type == TensorType.Float16)
                {
                    typed = false;
                    break;
                }
            }
        }

        ReadOnlyMemory<byte>[] raw = typed ? [] : new ReadOnlyMemory<byte>[outputs.Count];
        for (var i = 0; i < outputs.Count; i++)
        {
            var tensor = outputs[i];
            var output = new ModelInferResponse.Types.InferOutputTensor
            {
                Name = i < names.Count ? names[i] : $"output_{i}",
                Datatype = OipDatatype.Name(tensor.Type),
            };
            output.Shape.AddRange(tensor.Shape);
            if (typed)
            {
                output.Contents = Contents(tensor);
            }
            else
            {
                raw[i] = Raw(tensor, rentals);
            }

            response.Outputs.Add(output);
        }

        return raw;
    }

    private static ReadOnlyMemory<byte> Raw(Tensor tensor, RentedBuffers rentals)
    {
        if (!tensor.IsString)
        {
            // Valid until the result is disposed, which the call does after the response is written.
            return tensor.Data;
        }

        var length = (int)RawTensors.RawLength(tensor);
        var buffer = rentals.Rent(length);
        RawTensors.WriteStrings(tensor, buffer);
        return buffer.AsMemory(0, length);
    }

    private static InferTensorContents Contents(Tensor tensor)
    {
        var contents = new InferTensorContents();
        var data = tensor.Data.Span;
        switch (tensor.Type)
        {
            case TensorType.String:
                foreach (var s in tensor.Strings) contents.BytesContents.Add(UnsafeByteOperations.UnsafeWrap(s));
                break;
            case TensorType.Int8:
                foreach (var v in MemoryMarshal.Cast<byte, sbyte>(data)) contents.IntContents.Add(v);
                break;
            case TensorType.Int16:
                foreach (var v in MemoryMarshal.Cast<byte, short>(data)) contents.IntContents.Add(v);
                break;
            case TensorType.Int32:
                contents.IntContents.AddRange(MemoryMarshal.Cast<byte, int>(data).ToArray());
                break;
            case TensorType.Int64:
                contents.Int64Contents.AddRange(MemoryMarshal.Cast<byte, long>(data).ToArray());
                break;
            case TensorType.UInt8:
                foreach (var v in data) contents.UintContents.Add(v);
                break;
            case TensorType.UInt16:
                foreach (var v in MemoryMarshal.Cast<byte, ushort>(data)) contents.UintContents.Add(v);
                break;
            case TensorType.UInt32:
                contents.UintContents.AddRange(MemoryMarshal.Cast<byte, uint>(data).ToArray());
                break;
            case TensorType.UInt64:
                contents.Uint64Contents.AddRange(MemoryMarshal.Cast<byte, ulong>(data).ToArray());
                break;
            case TensorType.Float32:
                contents.Fp32Contents.AddRange(MemoryMarshal.Cast<byte, float>(data).ToArray());
                break;
            case TensorType.Float64:
                contents.Fp64Contents.AddRange(MemoryMarshal.Cast<byte, double>(data).ToArray());
                break;
        }

        return contents;
    }
}
