using System.Text;
using System.Text.Json;

namespace GraphPipe.Server.OpenInference.Wire;

/// <summary>
/// Reads a REST inference request: the JSON object (<c>id</c>, <c>parameters</c>, <c>inputs</c>,
/// <c>outputs</c>) and, with the binary tensor data extension, the binary part after it. Binary tensors
/// and unescaped BYTES strings are views of the body (no copy); JSON numbers are decoded into rented arrays.
/// Data may be flattened or nested, and may come before the tensor's shape and datatype.
/// </summary>
internal static class JsonRequestReader
{
    private const string InvalidJson = "request is not valid JSON";

    /// <param name="body">The whole request body.</param>
    /// <param name="headerLength">Length of the JSON part (the <c>Inference-Header-Content-Length</c> header), or -1 when the whole body is JSON.</param>
    public static OipInferRequest? Read(ReadOnlyMemory<byte> body, int headerLength, RentedBuffers rentals, out string? error)
    {
        if (headerLength > body.Length)
        {
            error = $"{OipParameters.HeaderLengthHeader} is {headerLength} but the body has {body.Length} bytes";
            return null;
        }

        var json = headerLength < 0 ? body : body[..headerLength];
        var binary = headerLength < 0 ? ReadOnlyMemory<byte>.Empty : body[headerLength..];
        try
        {
            return ReadObject(json, binary, rentals, out error);
        }
        catch (JsonException ex)
        {
            error = $"{InvalidJson}: {Echo.Name(ex.Message)}";
            return null;
        }
        catch (InvalidOperationException ex)
        {
            // A token of the wrong kind read as a value (e.g. a string where a number belongs).
            error = $"{InvalidJson}: {Echo.Name(ex.Message)}";
            return null;
        }
    }

    private static OipInferRequest? ReadObject(ReadOnlyMemory<byte> json, ReadOnlyMemory<byte> binary, RentedBuffers rentals, out string? error)
    {
        error = null;
        var reader = new Utf8JsonReader(json.Span);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = $"{InvalidJson} object";
            return null;
        }

        string? id = null;
        var config = string.Empty;
        var binaryByDefault = false;
        var names = new List<string>(1);
        var tensors = new List<Tensor>(1);
        var outputs = new List<string>();
        var binaryOutputs = new List<bool>();
        var binaryOffset = 0;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                Next(ref reader);
                id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                if (id is null)
                {
                    error = "'id' must be a string";
                    return null;
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                if (!ReadRequestParameters(ref reader, ref config, ref binaryByDefault, out error))
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                if (!ExpectArray(ref reader, "inputs", out error))
                {
                    return null;
                }

                while (Next(ref reader) == JsonTokenType.StartObject)
                {
                    var tensor = ReadInput(ref reader, json, binary, ref binaryOffset, rentals, out var name, out error);
                    if (tensor is null)
                    {
                        return null;
                    }

                    names.Add(name!);
                    tensors.Add(tensor);
                }

                if (reader.TokenType != JsonTokenType.EndArray)
                {
                    error = "'inputs' must be an array of tensor objects";
                    return null;
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                if (!ReadOutputs(ref reader, outputs, binaryOutputs, out error))
                {
                    return null;
                }
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        if (binaryOffset != binary.Length)
        {
            error = $"{binary.Length - binaryOffset} bytes of binary data after the JSON are not claimed by any input's {OipParameters.BinaryDataSize}";
            return null;
        }

        return new OipInferRequest
        {
            Request = new InferRequest { InputNames = names, Inputs = tensors, OutputNames = outputs, Config = config },
            Id = id,
            BinaryOutputs = binaryOutputs,
            BinaryByDefault = binaryByDefault,
        };
    }

    private static bool ReadRequestParameters(ref Utf8JsonReader reader, ref string config, ref bool binaryByDefault, out string? error)
    {
        error = null;
        if (Next(ref reader) != JsonTokenType.StartObject)
        {
            error = "'parameters' must be an object";
            return false;
        }

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(OipParameters.Next))
            {
                if (Next(ref reader) != JsonTokenType.String)
                {
                    error = $"parameter '{OipParameters.Next}' must be a string (a next-stage URL, or several separated by spaces)";
                    return false;
                }

                config = reader.GetString()!;
            }
            else if (reader.ValueTextEquals(OipParameters.BinaryDataOutput))
            {
                Next(ref reader);
                binaryByDefault = reader.TokenType == JsonTokenType.True;
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        return true;
    }

    private static bool ReadOutputs(ref Utf8JsonReader reader, List<string> outputs, List<bool> binaryOutputs, out string? error)
    {
        error = null;
        if (!ExpectArray(ref reader, "outputs", out error))
        {
            return false;
        }

        while (Next(ref reader) == JsonTokenType.StartObject)
        {
            string? name = null;
            var binary = false;
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    Next(ref reader);
                    name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    if (Next(ref reader) != JsonTokenType.StartObject)
                    {
                        error = $"output {outputs.Count}: 'parameters' must be an object";
                        return false;
                    }

                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        var isBinary = reader.ValueTextEquals(OipParameters.BinaryData);
                        Next(ref reader);
                        if (isBinary)
                        {
                            binary = reader.TokenType == JsonTokenType.True;
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    Next(ref reader);
                    reader.Skip();
                }
            }

            if (string.IsNullOrEmpty(name))
            {
                error = $"output {outputs.Count} has no 'name'";
                return false;
            }

            outputs.Add(name);
            binaryOutputs.Add(binary);
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            error = "'outputs' must be an array of objects with a 'name'";
            return false;
        }

        return true;
    }

    private static Tensor? ReadInput(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, ReadOnlyMemory<byte> binary, ref int binaryOffset, RentedBuffers rentals, out string? name, out string? error)
    {
        name = null;
        error = null;
        string? datatype = null;
        List<long>? shape = null;
        long binarySize = -1;
        var hasData = false;
        var dataAt = default(Utf8JsonReader);
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Next(ref reader);
                name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Next(ref reader);
                datatype = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (Next(ref reader) != JsonTokenType.StartArray)
                {
                    error = $"input '{Echo.Name(name)}': 'shape' must be an array of integers";
                    return null;
                }

                shape = new List<long>(4);
                while (Next(ref reader) == JsonTokenType.Number && reader.TryGetInt64(out var d))
                {
                    shape.Add(d);
                }

                if (reader.TokenType != JsonTokenType.EndArray)
                {
                    error = $"input '{Echo.Name(name)}': 'shape' must be an array of integers";
                    return null;
                }
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                if (Next(ref reader) != JsonTokenType.StartObject)
                {
                    error = $"input '{Echo.Name(name)}': 'parameters' must be an object";
                    return null;
                }

                while (Next(ref reader) == JsonTokenType.PropertyName)
                {
                    var isSize = reader.ValueTextEquals(OipParameters.BinaryDataSize);
                    Next(ref reader);
                    if (isSize)
                    {
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out binarySize) || binarySize < 0)
                        {
                            error = $"input '{Echo.Name(name)}': '{OipParameters.BinaryDataSize}' must be a non-negative integer";
                            return null;
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                // Read once shape and datatype are known: they may come later in the object.
                hasData = true;
                dataAt = reader;
                Next(ref reader);
                reader.Skip();
            }
            else
            {
                Next(ref reader);
                reader.Skip();
            }
        }

        if (string.IsNullOrEmpty(name))
        {
            error = "an input has no 'name'";
            return null;
        }

        if (!OipDatatype.TryParse(datatype, out var type, out var isBool))
        {
            error = $"input '{Echo.Name(name)}': datatype '{Echo.Name(datatype)}' is not one of {OipDatatype.Supported}";
            return null;
        }

        if (shape is null)
        {
            error = $"input '{Echo.Name(name)}' has no 'shape'";
            return null;
        }

        var dims = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shape);
        if (binarySize >= 0)
        {
            if (hasData)
            {
                error = $"input '{Echo.Name(name)}': give either 'data' or the '{OipParameters.BinaryDataSize}' parameter, not both";
                return null;
            }

            if (binarySize > binary.Length - binaryOffset)
            {
                error = $"input '{Echo.Name(name)}': {OipParameters.BinaryDataSize} is {binarySize} but only {binary.Length - binaryOffset} bytes of binary data are left";
                return null;
            }

            var raw = binary.Slice(binaryOffset, (int)binarySize);
            binaryOffset += (int)binarySize;
            return RawTensors.Read(name, type, isBool, dims, raw, out error);
        }

        if (!hasData)
        {
            error = $"input '{Echo.Name(name)}' has no 'data' (nor binary data)";
            return null;
        }

        var count = RawTensors.ElementCount(name, dims, out error);
        if (count < 0)
        {
            return null;
        }

        // Every JSON element takes at least one byte of the body: this bounds what is rented by what was sent.
        if (count > json.Length)
        {
            error = $"input '{Echo.Name(name)}': shape {Echo.Shape(dims)} needs {count} elements, more than the request can hold";
            return null;
        }

        return JsonTensorData.Read(ref dataAt, json, name, type, isBool, dims, (int)count, rentals, out error);
    }

    private static bool ExpectArray(ref Utf8JsonReader reader, string property, out string? error)
    {
        error = Next(ref reader) == JsonTokenType.StartArray ? null : $"'{property}' must be an array";
        return error is null;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new JsonException("unexpected end of the JSON");

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
