using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GraphPipe.Server;
using GraphPipe.Server.OpenInference;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.OpenInference;

/// <summary>A stage that takes any tensors "x" and "y" and returns, for each requested output, the input of that name (else the first).</summary>
internal sealed class AnyEchoStage : IInferenceStage
{
    public StageMetadata Metadata { get; } = new()
    {
        Name = "echo",
        Version = "1",
        Inputs = [new IOMetadata("x", TensorType.Null, default), new IOMetadata("y", TensorType.Null, default)],
        Outputs = [new IOMetadata("x", TensorType.Null, default), new IOMetadata("y", TensorType.Null, default)],
    };

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
        => ValueTask.FromResult(StageResult.Success(request.OutputNames.Select(n => request.FindInput(n) ?? request.Inputs[0]).ToArray()));
}

/// <summary>A serving host with the OIP door (REST, and gRPC on a free loopback port).</summary>
internal static class OipHost
{
    public static Task<GraphPipeStageHost> StartAsync(Action<GraphPipeServingBuilder> addStages, Action<GraphPipeServerOptions>? configure = null, CancellationToken cancellationToken = default)
        => GraphPipeStageHost.StartAsync(serving =>
        {
            addStages(serving);
            serving.AddOpenInference(o => o.GrpcListen = "127.0.0.1:0");
        }, configure: configure, cancellationToken: cancellationToken);

    public static Uri Grpc(this GraphPipeStageHost host) => host.Services.GetOpenInferenceGrpcAddress() ?? throw new InvalidOperationException("no gRPC listener");

    /// <summary>POSTs a REST request with the binary tensor data extension: JSON header, then the binary blobs.</summary>
    public static Task<RawResponse> PostBinaryAsync(HttpClient http, Uri uri, string json, IEnumerable<byte[]> blobs, CancellationToken cancellationToken)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var body = header.Concat(blobs.SelectMany(b => b)).ToArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Post, uri) { Content = content }, cancellationToken);
    }

    public static Task<RawResponse> PostJsonAsync(HttpClient http, Uri uri, string json, CancellationToken cancellationToken)
        => RawHttp.SendAsync(http, new HttpRequestMessage(HttpMethod.Post, uri) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, cancellationToken);

    /// <summary>Splits a binary response into its JSON header and the bytes after it.</summary>
    public static (JsonElement Json, byte[] Binary) SplitBinary(RawResponse response)
    {
        var length = int.Parse(response.Headers.TryGetValues("Inference-Header-Content-Length", out var v) ? v.Single() : response.ContentHeaders.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        return (JsonDocument.Parse(response.Body.AsMemory(0, length)).RootElement.Clone(), response.Body[length..]);
    }
}

/// <summary>
/// One sample tensor per OIP datatype, written as JSON; its raw bytes are computed here with
/// <see cref="JsonDocument"/> and <see cref="BinaryPrimitives"/>, independently of the server's code.
/// </summary>
internal static class OipSamples
{
    public static readonly string[] All = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    public static TheoryData<string, bool, bool> EachWay()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var dt in All)
        {
            data.Add(dt, false, false);
            data.Add(dt, false, true);
            data.Add(dt, true, false);
            data.Add(dt, true, true);
        }

        return data;
    }

    public static TheoryData<string, bool> EachGrpcWay()
    {
        var data = new TheoryData<string, bool>();
        foreach (var dt in All)
        {
            data.Add(dt, true);
            if (dt != "FP16")
            {
                data.Add(dt, false);
            }
        }

        return data;
    }

    public static string Json(string datatype) => datatype switch
    {
        "BOOL" => "[true,false,true,true]",
        "UINT8" => "[0,255,7,1]",
        "INT8" => "[-128,127,0,-1]",
        "UINT16" => "[0,65535,9,1]",
        "INT16" => "[-32768,32767,-1,2]",
        "UINT32" => "[0,4294967295,5,1]",
        "INT32" => "[-2147483648,2147483647,3,-3]",
        "UINT64" => "[0,18446744073709551615,1,2]",
        "INT64" => "[-9223372036854775808,9223372036854775807,2,-2]",
        "FP16" => "[0.5,-2,65504,0.25]",
        "FP32" => "[1.5,-0.25,3.4028235E+38,1E-45]",
        "FP64" => "[0.1,-1E+300,2.5,5E-324]",
        "BYTES" => "[\"a\",\"h\\u00e9llo\",\"\",\"with \\\"quotes\\\"\"]",
        _ => throw new ArgumentOutOfRangeException(nameof(datatype)),
    };

    /// <summary>What the stage's output is called when it comes back: BOOL travels as uint8.</summary>
    public static string Returned(string datatype) => datatype == "BOOL" ? "UINT8" : datatype;

    public static byte[] Raw(string datatype) => RawOf(datatype, JsonDocument.Parse(Json(datatype)).RootElement);

    /// <summary>Raw bytes of a (possibly nested) JSON array of the datatype, row-major.</summary>
    public static byte[] RawOf(string datatype, JsonElement array)
    {
        var output = new List<byte>();
        Span<byte> b = stackalloc byte[8];
        foreach (var e in Flatten(array))
        {
            switch (datatype)
            {
                case "BOOL": output.Add(e.GetBoolean() ? (byte)1 : (byte)0); break;
                case "UINT8": output.Add(e.GetByte()); break;
                case "INT8": output.Add((byte)e.GetSByte()); break;
                case "UINT16": BinaryPrimitives.WriteUInt16LittleEndian(b, e.GetUInt16()); output.AddRange(b[..2]); break;
                case "INT16": BinaryPrimitives.WriteInt16LittleEndian(b, e.GetInt16()); output.AddRange(b[..2]); break;
                case "UINT32": BinaryPrimitives.WriteUInt32LittleEndian(b, e.GetUInt32()); output.AddRange(b[..4]); break;
                case "INT32": BinaryPrimitives.WriteInt32LittleEndian(b, e.GetInt32()); output.AddRange(b[..4]); break;
                case "UINT64": BinaryPrimitives.WriteUInt64LittleEndian(b, e.GetUInt64()); output.AddRange(b[..8]); break;
                case "INT64": BinaryPrimitives.WriteInt64LittleEndian(b, e.GetInt64()); output.AddRange(b[..8]); break;
                case "FP16": BinaryPrimitives.WriteHalfLittleEndian(b, (Half)e.GetDouble()); output.AddRange(b[..2]); break;
                case "FP32": BinaryPrimitives.WriteSingleLittleEndian(b, e.GetSingle()); output.AddRange(b[..4]); break;
                case "FP64": BinaryPrimitives.WriteDoubleLittleEndian(b, e.GetDouble()); output.AddRange(b[..8]); break;
                case "BYTES":
                    var text = Encoding.UTF8.GetBytes(e.GetString()!);
                    BinaryPrimitives.WriteInt32LittleEndian(b, text.Length);
                    output.AddRange(b[..4]);
                    output.AddRange(text);
                    break;
                default: throw new ArgumentOutOfRangeException(nameof(datatype));
            }
        }

        return [.. output];
    }

    private static IEnumerable<JsonElement> Flatten(JsonElement e)
        => e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flatten) : [e];

    public static ImmutableArray<long> Shape => [2, 2];
}
