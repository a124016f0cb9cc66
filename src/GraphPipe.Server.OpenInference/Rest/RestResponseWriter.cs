using System.Text.Json;
using GraphPipe.Server.OpenInference.Wire;
using Microsoft.AspNetCore.Http;

namespace GraphPipe.Server.OpenInference.Rest;

/// <summary>
/// Writes a REST inference response: JSON, or with the binary tensor data extension the JSON header
/// (its length in <c>Inference-Header-Content-Length</c>) followed by each binary output's raw bytes,
/// written from the stage's own buffers.
/// </summary>
internal static class RestResponseWriter
{
    internal static readonly JsonWriterOptions Options = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext context, string model, string version, OipInferRequest request, IReadOnlyList<string> names, IReadOnlyList<Tensor> outputs)
    {
        using var header = new PooledBufferWriter(EstimateJson(outputs));
        bool[] binary = outputs.Count == 0 ? [] : new bool[outputs.Count];
        long binaryLength = 0;
        using (var json = new Utf8JsonWriter(header, Options))
        {
            json.WriteStartObject();
            json.WriteString("model_name"u8, model);
            json.WriteString("model_version"u8, version);
            if (request.Id is { } id)
            {
                json.WriteString("id"u8, id);
            }

            json.WriteStartArray("outputs"u8);
            for (var i = 0; i < outputs.Count; i++)
            {
                var tensor = outputs[i];
                binary[i] = i < request.BinaryOutputs.Count ? request.BinaryOutputs[i] || request.BinaryByDefault : request.BinaryByDefault;
                json.WriteStartObject();
                json.WriteString("name"u8, i < names.Count ? names[i] : $"output_{i}");
                json.WriteString("datatype"u8, OipDatatype.Name(tensor.Type));
                json.WriteStartArray("shape"u8);
                foreach (var d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                if (binary[i])
                {
                    var length = RawTensors.RawLength(tensor);
                    binaryLength += length;
                    json.WriteStartObject("parameters"u8);
                    json.WriteNumber("binary_data_size"u8, length);
                    json.WriteEndObject();
                }
                else
                {
                    json.WritePropertyName("data"u8);
                    JsonTensorData.Write(json, tensor);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = header.WrittenCount + binaryLength;
        if (Array.IndexOf(binary, true) < 0)
        {
            response.ContentType = "application/json";
            await response.Body.WriteAsync(header.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        response.ContentType = "application/octet-stream";
        response.Headers[OipParameters.HeaderLengthHeader] = header.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await response.Body.WriteAsync(header.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        for (var i = 0; i < outputs.Count; i++)
        {
            if (!binary[i])
            {
                continue;
            }

            var tensor = outputs[i];
            if (!tensor.IsString)
            {
                await response.Body.WriteAsync(tensor.Data, context.RequestAborted).ConfigureAwait(false);
                continue;
            }

            using var strings = new RentedBuffers();
            var length = (int)RawTensors.RawLength(tensor);
            var buffer = strings.Rent(length);
            RawTensors.WriteStrings(tensor, buffer);
            await response.Body.WriteAsync(buffer.AsMemory(0, length), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static int EstimateJson(IReadOnlyList<Tensor> outputs) => 512 + (outputs.Count * 128);
}
