using System.Buffers;
using System.Text.Json;

namespace GraphPipe.BenchSuite;

/// <summary>One FP32 input of an Open Inference Protocol (KServe v2) request, as parsed back from JSON.</summary>
internal sealed record OipTensor(string Name, long[] Shape, string Datatype, float[] Data);

/// <summary>
/// The JSON baseline of the protocol row: an Open Inference Protocol (KServe v2) inference request
/// <c>{"inputs":[{"name":..,"shape":[..],"datatype":"FP32","data":[..]}]}</c> written with
/// <see cref="Utf8JsonWriter"/> and parsed with <see cref="Utf8JsonReader"/>. Hand-written against the
/// low-level APIs on purpose: that is the fastest System.Text.Json can do, so the comparison favours JSON.
/// </summary>
internal static class OipJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    /// <summary>Writes the request into <paramref name="output"/>; floats use the shortest form that round-trips exactly.</summary>
    public static void WriteInferRequest(IBufferWriter<byte> output, string name, ReadOnlySpan<long> shape, ReadOnlySpan<float> data, string? outputName = null)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        w.WriteStartObject();
        w.WriteStartArray("inputs");
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteStartArray("shape");
        foreach (var d in shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteString("datatype", "FP32");
        w.WriteStartArray("data");
        foreach (var v in data) w.WriteNumberValue(v);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        if (outputName is not null)
        {
            w.WriteStartArray("outputs");
            w.WriteStartObject();
            w.WriteString("name", outputName);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>Parses the first input of a request (any property order). Throws <see cref="InvalidDataException"/> when it is not an FP32 OIP request.</summary>
    public static OipTensor ReadFirstInput(ReadOnlySpan<byte> json) => ReadFirst(json, "inputs"u8);

    /// <summary>Parses the first output of a response, as <see cref="ReadFirstInput"/> does the first input of a request.</summary>
    public static OipTensor ReadFirstOutput(ReadOnlySpan<byte> json) => ReadFirst(json, "outputs"u8);

    private static OipTensor ReadFirst(ReadOnlySpan<byte> json, ReadOnlySpan<byte> property)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            Expect(ref reader, JsonTokenType.StartObject);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals(property))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                Expect(ref reader, JsonTokenType.StartArray);
                Expect(ref reader, JsonTokenType.StartObject);
                return ReadTensor(ref reader);
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"not an OIP request: {ex.Message}", ex);
        }

        throw new InvalidDataException($"not an OIP message: no '{System.Text.Encoding.UTF8.GetString(property)}'");
    }

    private static OipTensor ReadTensor(ref Utf8JsonReader reader)
    {
        string? name = null, datatype = null;
        long[]? shape = null;
        float[]? data = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                Next(ref reader);
                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                Next(ref reader);
                datatype = reader.GetString();
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                Expect(ref reader, JsonTokenType.StartArray);
                var dims = new List<long>(4);
                while (Next(ref reader) == JsonTokenType.Number) dims.Add(reader.GetInt64());
                shape = [.. dims];
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                data = ReadFloats(ref reader, shape);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (name is null || shape is null || data is null || datatype is null)
        {
            throw new InvalidDataException("not an OIP request: an input needs name, shape, datatype and data");
        }

        if (datatype != "FP32")
        {
            throw new InvalidDataException($"expected datatype FP32, got {datatype}");
        }

        var count = shape.Aggregate(1L, (a, d) => a * d);
        return count == data.Length ? new OipTensor(name, shape, datatype, data) : throw new InvalidDataException($"shape [{string.Join(',', shape)}] needs {count} values, data has {data.Length}");
    }

    private static float[] ReadFloats(ref Utf8JsonReader reader, long[]? shape)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        // When the shape came first (as writers put it) the array is sized once; otherwise it grows.
        var count = shape is null ? 0 : shape.Aggregate(1L, (a, d) => a * d);
        var values = new float[count is > 0 and < int.MaxValue ? count : 1024];
        var n = 0;
        while (Next(ref reader) == JsonTokenType.Number)
        {
            if (n == values.Length) Array.Resize(ref values, values.Length * 2);
            values[n++] = reader.GetSingle();
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new InvalidDataException("data must be an array of numbers");
        }

        if (n != values.Length) Array.Resize(ref values, n);
        return values;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new InvalidDataException("not an OIP request: unexpected end");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type)
        {
            throw new InvalidDataException($"not an OIP request: expected {type}, got {reader.TokenType}");
        }
    }
}
