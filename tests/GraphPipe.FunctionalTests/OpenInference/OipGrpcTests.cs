using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using GraphPipe.Server.OpenInference.Grpc;
using GraphPipe.Stages;
using Grpc.Core;
using Grpc.Net.Client;

namespace GraphPipe.FunctionalTests.OpenInference;

/// <summary>The Open Inference Protocol's gRPC service (inference.GRPCInferenceService) through Grpc.Net.Client, on its own h2c port.</summary>
public sealed class OipGrpcTests(OipHostFixture fixture) : IClassFixture<OipHostFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(fixture.Host.Grpc());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private GRPCInferenceService.GRPCInferenceServiceClient Client => new(_channel);

    private static DateTime Deadline => DateTime.UtcNow + Limits.Step;

    public void Dispose() => _channel.Dispose();

    [Fact]
    public void Proto_NamesAndFieldNumbers_AreThePublishedOnes()
    {
        var file = OpenInferenceGrpcReflection.Descriptor;
        Assert.Equal("inference", file.Package);
        var service = Assert.Single(file.Services);
        Assert.Equal("inference.GRPCInferenceService", service.FullName);
        Assert.Equal(["ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"], service.Methods.Select(m => m.Name));
        var request = ModelInferRequest.Descriptor;
        Assert.Equal([("model_name", 1), ("model_version", 2), ("id", 3), ("parameters", 4), ("inputs", 5), ("outputs", 6), ("raw_input_contents", 7)],
            request.Fields.InFieldNumberOrder().Select(f => (f.Name, f.FieldNumber)));
        Assert.Equal([("model_name", 1), ("model_version", 2), ("id", 3), ("parameters", 4), ("outputs", 5), ("raw_output_contents", 6)],
            ModelInferResponse.Descriptor.Fields.InFieldNumberOrder().Select(f => (f.Name, f.FieldNumber)));
        Assert.Equal(["bool_contents", "int_contents", "int64_contents", "uint_contents", "uint64_contents", "fp32_contents", "fp64_contents", "bytes_contents"],
            InferTensorContents.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
        Assert.Equal(["bool_param", "int64_param", "string_param", "double_param", "uint64_param"], InferParameter.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
        Assert.Equal([("name", 1), ("datatype", 2), ("shape", 3), ("parameters", 4), ("contents", 5)],
            ModelInferRequest.Types.InferInputTensor.Descriptor.Fields.InFieldNumberOrder().Select(f => (f.Name, f.FieldNumber)));
    }

    [Fact]
    public async Task ModelInfer_RawInputsWithUnknownFieldsFromAnotherClient_EchoedByteForByte()
    {
        // Bytes as another client might send them: a field this proto does not know, field 7 with a wire
        // type it does not have (both unknown to protobuf), a 300 KB tensor that spans many transport segments.
        var big = new byte[300_000];
        new Random(11).NextBytes(big);
        byte[] small = [1, 2, 3, 4, 5, 6, 7, 8];
        var request = new ModelInferRequest
        {
            ModelName = "echo",
            Id = "raw-1",
            Inputs =
            {
                new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "UINT8", Shape = { big.Length } },
                new ModelInferRequest.Types.InferInputTensor { Name = "y", Datatype = "FP32", Shape = { 2 } },
            },
            Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" }, new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "x" } },
            Parameters = { ["someone_elses"] = new InferParameter { Int64Param = 42 } },
            RawInputContents = { ByteString.CopyFrom(big), ByteString.CopyFrom(small) },
        };
        byte[] unknown = [0xB8, 0x3E, 0x2A, 0x38, 0x07]; // field 999 = 42 (varint); field 7 = 7 (varint)
        byte[] bytes = [.. unknown[..3], .. request.ToByteArray(), .. unknown[3..]];
        var method = new Method<byte[], ModelInferResponse>(MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer",
            Marshallers.Create(static b => b, static b => b), Marshallers.Create(static (ModelInferResponse r) => r.ToByteArray(), ModelInferResponse.Parser.ParseFrom));

        var response = await _channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(deadline: Deadline, cancellationToken: Ct), bytes);

        Assert.Equal("raw-1", response.Id);
        Assert.Equal(["y", "x"], response.Outputs.Select(o => o.Name));
        Assert.Equal(2, response.RawOutputContents.Count);
        Assert.Equal(small, response.RawOutputContents[0].ToByteArray());
        Assert.Equal(big, response.RawOutputContents[1].ToByteArray());
    }

    [Fact]
    public async Task ServerLiveReadyAndMetadata_AnswerFromTheHost()
    {
        var live = await Client.ServerLiveAsync(new ServerLiveRequest(), deadline: Deadline, cancellationToken: Ct);
        var ready = await Client.ServerReadyAsync(new ServerReadyRequest(), deadline: Deadline, cancellationToken: Ct);
        var metadata = await Client.ServerMetadataAsync(new ServerMetadataRequest(), deadline: Deadline, cancellationToken: Ct);

        Assert.True(live.Live);
        Assert.True(ready.Ready);
        Assert.Equal("graphpipe-dotnet", metadata.Name);
        Assert.Contains("binary_tensor_data", metadata.Extensions);
    }

    [Fact]
    public async Task ModelMetadataAndReady_ServedModel_DescribeItsTensors()
    {
        var metadata = await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "identity" }, deadline: Deadline, cancellationToken: Ct);
        var ready = await Client.ModelReadyAsync(new ModelReadyRequest { Name = "identity", Version = "1" }, deadline: Deadline, cancellationToken: Ct);

        Assert.Equal("identity", metadata.Name);
        Assert.Equal(["1"], metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("in", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, -1, -1, -1], input.Shape);
        Assert.True(ready.Ready);
    }

    [Fact]
    public async Task ModelCalls_UnknownModel_NotFoundNamingIt()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }, deadline: Deadline, cancellationToken: Ct));
        var infer = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(new ModelInferRequest { ModelName = "nope" }, deadline: Deadline, cancellationToken: Ct));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.StartsWith("model 'nope' is not served here; models: echo, identity", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, infer.StatusCode);
    }

    [Theory]
    [MemberData(nameof(OipSamples.EachGrpcWay), MemberType = typeof(OipSamples))]
    public async Task ModelInfer_EachDatatype_RoundTripsRawOrTyped(string datatype, bool raw)
    {
        var bytes = OipSamples.Raw(datatype);
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = datatype, Shape = { 2, 2 } };
        var request = new ModelInferRequest { ModelName = "echo", Id = "g-" + datatype, Inputs = { input }, Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "x" } } };
        if (raw)
        {
            request.RawInputContents.Add(ByteString.CopyFrom(bytes));
        }
        else
        {
            input.Contents = Typed(datatype, JsonDocument.Parse(OipSamples.Json(datatype)).RootElement);
        }

        var response = await Client.ModelInferAsync(request, deadline: Deadline, cancellationToken: Ct);

        Assert.Equal(("echo", "1", "g-" + datatype), (response.ModelName, response.ModelVersion, response.Id));
        var output = Assert.Single(response.Outputs);
        Assert.Equal(("x", OipSamples.Returned(datatype)), (output.Name, output.Datatype));
        Assert.Equal([2L, 2], output.Shape);
        if (raw)
        {
            Assert.Null(output.Contents);
            Assert.Equal(bytes, Assert.Single(response.RawOutputContents).ToByteArray());
        }
        else
        {
            Assert.Empty(response.RawOutputContents);
            Assert.Equal(bytes, RawOfTyped(OipSamples.Returned(datatype), output.Contents));
        }
    }

    [Theory]
    [InlineData("FP16", "[echo] input 'x': FP16 has no typed contents; send it in raw_input_contents")]
    [InlineData("INT8", "[echo] input 'x': element 0 (300) is out of range [-128, 127]")]
    [InlineData("INT32", "[echo] input 'x': contents have 1 elements; shape [2] needs 2")]
    [InlineData("FP64X", "[echo] input 'x': datatype 'FP64X' is not one of BOOL")]
    public async Task ModelInfer_BadTypedInput_InvalidArgumentNamingStageAndField(string datatype, string expected)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = datatype, Shape = { 2 }, Contents = new InferTensorContents { IntContents = { 300 } } };
        if (datatype == "INT8")
        {
            input.Contents.IntContents.Add(1);
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(new ModelInferRequest { ModelName = "echo", Inputs = { input } }, deadline: Deadline, cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(expected, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelInfer_RawCountNotOnePerInput_InvalidArgument()
    {
        var request = new ModelInferRequest { ModelName = "identity", Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "in", Datatype = "FP32", Shape = { 1 } } } };
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));
        request.RawInputContents.Add(ByteString.CopyFrom(new byte[4]));

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request, deadline: Deadline, cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("[identity] raw_input_contents has 2 entries for 1 inputs (one per input, in order)", error.Status.Detail);
    }

    [Fact]
    public async Task ModelInfer_MessageOverTheHostBodyLimit_ResourceExhausted()
    {
        var request = Float32Request("identity", new byte[1024 * 1024 + 4]);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Client.ModelInferAsync(request, deadline: Deadline, cancellationToken: Ct));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task ModelInfer_StageSlowerThanTheCallDeadline_DeadlineExceededNamingTheStage()
    {
        var slow = new DelegateStage("slow", static async (request, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(20), ct);
            return DelegateStage.Echo(request);
        });
        await using var host = await OipHost.StartAsync(s => s.AddStage("slow", slow), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var channel = GrpcChannel.ForAddress(host.Grpc());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Float32Request("slow", new byte[16]), deadline: DateTime.UtcNow.AddMilliseconds(300), cancellationToken: Ct)).WaitAsync(Limits.Step, Ct);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the call outlived its deadline by far");
    }

    [Fact]
    public async Task ModelInfer_StageFailure_MapsKindToStatusWithTheStageMessage()
    {
        var busy = new DelegateStage("busy", static (_, _) => ValueTask.FromResult(StageResult.Failure(StageErrorKind.Unavailable, "model warming up")));
        await using var host = await OipHost.StartAsync(s => s.AddStage("busy", busy), cancellationToken: Ct).WaitAsync(Limits.Step, Ct);
        using var channel = GrpcChannel.ForAddress(host.Grpc());
        using var http = new HttpClient();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(Float32Request("busy", new byte[16]), deadline: Deadline, cancellationToken: Ct));
        var rest = await OipHost.PostJsonAsync(http, new Uri(host.Address, "v2/models/busy/infer"), """{"inputs":[{"name":"in","shape":[1],"datatype":"FP32","data":[1]}]}""", Ct);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("[busy] model warming up", error.Status.Detail);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, rest.Status);
        Assert.Equal("[busy] model warming up", JsonDocument.Parse(rest.Body).RootElement.GetProperty("error").GetString());
    }

    private static ModelInferRequest Float32Request(string model, byte[] data)
    {
        var request = new ModelInferRequest { ModelName = model, Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "in", Datatype = "FP32", Shape = { 1, 1, 1, data.Length / 4 } } } };
        request.RawInputContents.Add(ByteString.CopyFrom(data));
        return request;
    }

    /// <summary>Typed contents from the sample's JSON (the test's own mapping of the spec's table).</summary>
    private static InferTensorContents Typed(string datatype, JsonElement values)
    {
        var c = new InferTensorContents();
        foreach (var e in values.EnumerateArray())
        {
            switch (datatype)
            {
                case "BOOL": c.BoolContents.Add(e.GetBoolean()); break;
                case "INT8" or "INT16" or "INT32": c.IntContents.Add(e.GetInt32()); break;
                case "INT64": c.Int64Contents.Add(e.GetInt64()); break;
                case "UINT8" or "UINT16" or "UINT32": c.UintContents.Add(e.GetUInt32()); break;
                case "UINT64": c.Uint64Contents.Add(e.GetUInt64()); break;
                case "FP32": c.Fp32Contents.Add(e.GetSingle()); break;
                case "FP64": c.Fp64Contents.Add(e.GetDouble()); break;
                case "BYTES": c.BytesContents.Add(ByteString.CopyFromUtf8(e.GetString()!)); break;
                default: throw new ArgumentOutOfRangeException(nameof(datatype));
            }
        }

        return c;
    }

    private static byte[] RawOfTyped(string datatype, InferTensorContents c)
    {
        var output = new List<byte>();
        Span<byte> b = stackalloc byte[8];
        switch (datatype)
        {
            case "UINT8": output.AddRange(c.UintContents.Select(v => (byte)v)); break;
            case "INT8": output.AddRange(c.IntContents.Select(v => (byte)(sbyte)v)); break;
            case "UINT16": foreach (var v in c.UintContents) { BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); output.AddRange(b[..2]); } break;
            case "INT16": foreach (var v in c.IntContents) { BinaryPrimitives.WriteInt16LittleEndian(b, (short)v); output.AddRange(b[..2]); } break;
            case "UINT32": output.AddRange(MemoryMarshal.AsBytes(c.UintContents.ToArray().AsSpan()).ToArray()); break;
            case "INT32": output.AddRange(MemoryMarshal.AsBytes(c.IntContents.ToArray().AsSpan()).ToArray()); break;
            case "UINT64": output.AddRange(MemoryMarshal.AsBytes(c.Uint64Contents.ToArray().AsSpan()).ToArray()); break;
            case "INT64": output.AddRange(MemoryMarshal.AsBytes(c.Int64Contents.ToArray().AsSpan()).ToArray()); break;
            case "FP32": output.AddRange(MemoryMarshal.AsBytes(c.Fp32Contents.ToArray().AsSpan()).ToArray()); break;
            case "FP64": output.AddRange(MemoryMarshal.AsBytes(c.Fp64Contents.ToArray().AsSpan()).ToArray()); break;
            case "BYTES":
                foreach (var s in c.BytesContents)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(b, s.Length);
                    output.AddRange(b[..4]);
                    output.AddRange(s.ToByteArray());
                }

                break;
            default: throw new ArgumentOutOfRangeException(nameof(datatype));
        }

        return [.. output];
    }

    private static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
