using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using GraphPipe.Client;
using GraphPipe.Onnx;
using GraphPipe.Server.OpenInference;
using GraphPipe.Server.OpenInference.Grpc;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// The protocol doors of one serving host: the same stage called over GraphPipe (the baseline) and over the
/// Open Inference Protocol as REST JSON, REST with binary tensor data, and gRPC. On the identity stage with
/// a 602 KB (1x3x224x224) and a 12 KB (1x3x32x32) float32 tensor, and on the model of the model rows,
/// latency at concurrency 1 and throughput at 4. Goal: gRPC and REST binary within 1.3x of GraphPipe.
/// </summary>
internal sealed class ProtocolDoorRows : IBenchRow
{
    private const string Group = "protocols";
    private const int Concurrency = 4;
    private const double Budget = 1.3;

    public string Id => Group;

    public string Title => "protocols: the same stage over GraphPipe vs OIP REST JSON, REST binary and gRPC";

    public async Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var rows = new List<RowResult>();
        foreach (var size in (int[])[224, 32])
        {
            var tensor = TestData.Image(size);
            var stage = new IdentityStage(new IOMetadata("input", TensorType.Float32, [-1, 3, size, size]));
            var label = Label(tensor, "identity");
            context.Progress($"protocols: {label}");
            rows.AddRange(await CompareAsync(context, serving => serving.AddStage("identity", stage), "identity", "input", null, tensor, label, context.HttpTime, cancellationToken).ConfigureAwait(false));
        }

        if (context.ModelPath is not { } path || !File.Exists(path))
        {
            var reason = context.ModelPath is null ? context.ModelMissingReason : $"model file '{context.ModelPath}' does not exist";
            rows.Add(RowResult.Skip(Group, "model: OIP vs GraphPipe", RowTarget.RatioAtMost(Budget), reason));
            return rows;
        }

        using var model = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, EngineCount = context.EngineCount, IntraOpThreads = Math.Max(1, Environment.ProcessorCount / context.EngineCount) });
        var input = model.Metadata.Inputs[0];
        if (input.Type != TensorType.Float32 || input.Shape.IsDefaultOrEmpty)
        {
            rows.Add(RowResult.Skip(Group, "model: OIP vs GraphPipe", RowTarget.RatioAtMost(Budget), $"{Path.GetFileName(path)}: the rows need one float32 input"));
            return rows;
        }

        var shape = input.Shape.Select(d => d < 0 ? 1L : d).ToArray();
        var modelTensor = Tensor.Create<float>(TestData.Floats((int)shape.Aggregate(1L, (a, d) => a * d)), shape);
        var modelLabel = Label(modelTensor, Path.GetFileName(path));
        context.Progress($"protocols: {modelLabel}");
        // As in the model rows, every door asks for the first output only.
        rows.AddRange(await CompareAsync(context, serving => serving.AddStage("model", model), "model", input.Name, model.Metadata.Outputs[0].Name, modelTensor, modelLabel, context.ModelTime, cancellationToken).ConfigureAwait(false));
        return rows;
    }

    private static string Label(Tensor tensor, string what)
        => string.Create(CultureInfo.InvariantCulture, $"{what} {tensor.Data.Length / 1000.0:0} KB");

    private static async Task<IReadOnlyList<RowResult>> CompareAsync(SuiteContext context, Action<Server.GraphPipeServingBuilder> addStage, string model, string inputName, string? outputName,
        Tensor tensor, string label, TimeSpan time, CancellationToken cancellationToken)
    {
        await using var host = await SuiteHttp.HostAsync(serving =>
        {
            addStage(serving);
            serving.AddOpenInference(o => o.GrpcListen = "127.0.0.1:0");
        }, cancellationToken).ConfigureAwait(false);
        using var http = SuiteHttp.CreateClient(Concurrency, out _);
        var graphPipe = new GraphPipeClient(http, new Uri(host.Address, model), new GraphPipeClientOptions { Timeout = TimeSpan.FromMinutes(2) });
        var request = new InferRequest { InputNames = [inputName], Inputs = [tensor], OutputNames = outputName is null ? [] : [outputName] };
        using var oip = new OipClients(http, host.Address, host.Services.GetOpenInferenceGrpcAddress()!, model, inputName, outputName, tensor);

        async ValueTask GraphPipe(int worker, CancellationToken ct)
        {
            var response = await graphPipe.InferAsync(request, ct).ConfigureAwait(false);
            if (response.Outputs.Count == 0) throw new InvalidDataException("no output");
        }

        // Only the identity stage answers as fast as a bare server can, so only there is the floor comparable.
        await using var floor = outputName is null ? await SuiteHttp.StartGrpcFloorAsync(FramedResponse(model, tensor), cancellationToken).ConfigureAwait(false) : null;
        using var floorClient = floor is null ? null : new OipClients(http, floor.Address, floor.Address, model, inputName, outputName, tensor);
        List<Func<int, CancellationToken, ValueTask>> operations = [GraphPipe, oip.JsonAsync, oip.BinaryAsync, oip.GrpcAsync, oip.GrpcPooledAsync];
        if (floorClient is not null)
        {
            operations.Add(floorClient.GrpcPooledAsync);
        }

        // JSON of a 602 KB tensor takes most of a second: fewer operations per round keep the run short.
        var minOperations = tensor.Data.Length > 100_000 ? 2 : 5;
        var c1 = await RowHelpers.AlternateAsync(context, operations, 1, time, minOperations, cancellationToken).ConfigureAwait(false);
        var c4 = await RowHelpers.AlternateAsync(context, operations, Concurrency, time, minOperations, cancellationToken).ConfigureAwait(false);
        var within = RowTarget.RatioAtMost(Budget);
        var atLeast = RowTarget.RatioAtLeast(1 / Budget);
        const string Note = "client encode + server + client decode on both sides; baseline = GraphPipe door, same host";
        const string Pooled = "raw_input/output_contents; the client reads raw outputs into a pooled buffer (the door's marshallers)";
        const string Generated = "raw_input/output_contents; the generated client (a new array per raw output)";
        List<RowResult> rows =
        [
            RowHelpers.Latency(Group, $"{label} c=1: OIP gRPC vs GraphPipe", c1[4], c1[0], within, $"{Note}; {Pooled}"),
            RowHelpers.Latency(Group, $"{label} c=1: OIP gRPC, generated client, vs GraphPipe", c1[3], c1[0], RowTarget.None, $"{Note}; {Generated}"),
            RowHelpers.Latency(Group, $"{label} c=1: OIP REST binary vs GraphPipe", c1[2], c1[0], within, $"{Note}; binary tensor data extension"),
            RowHelpers.Latency(Group, $"{label} c=1: OIP REST JSON vs GraphPipe", c1[1], c1[0], RowTarget.None, $"{Note}; JSON numbers both ways, as it falls"),
            RowHelpers.Throughput(Group, $"{label} throughput c={Concurrency}: OIP gRPC vs GraphPipe", c4[4], c4[0], atLeast, $"closed loop; ratio = ours/GraphPipe req/s (≥ 0.77 is the 1.3x budget); {Pooled}"),
            RowHelpers.Throughput(Group, $"{label} throughput c={Concurrency}: OIP gRPC, generated client, vs GraphPipe", c4[3], c4[0], RowTarget.None, $"closed loop; {Generated}"),
            RowHelpers.Throughput(Group, $"{label} throughput c={Concurrency}: OIP REST binary vs GraphPipe", c4[2], c4[0], atLeast, "closed loop; ratio = ours/GraphPipe req/s"),
            RowHelpers.Throughput(Group, $"{label} throughput c={Concurrency}: OIP REST JSON vs GraphPipe", c4[1], c4[0], RowTarget.None, "closed loop; ratio = ours/GraphPipe req/s"),
        ];
        if (floorClient is not null)
        {
            const string FloorNote = "baseline = bare Kestrel h2c app answering ModelInfer with a ready response (no gRPC framework, no stage); same client";
            rows.Add(RowHelpers.Latency(Group, $"{label} c=1: OIP gRPC door vs HTTP/2 floor", c1[4], c1[5], RowTarget.None, FloorNote));
            rows.Add(RowHelpers.Throughput(Group, $"{label} throughput c={Concurrency}: OIP gRPC door vs HTTP/2 floor", c4[4], c4[5], RowTarget.None, FloorNote));
        }

        return rows;
    }

    /// <summary>A ModelInferResponse carrying <paramref name="tensor"/> as its raw output, with gRPC's 5-byte message prefix.</summary>
    private static byte[] FramedResponse(string model, Tensor tensor)
    {
        var response = new ModelInferResponse { ModelName = model };
        response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(tensor.Data));
        var message = response.ToByteArray();
        var framed = new byte[message.Length + 5];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
        message.CopyTo(framed, 5);
        return framed;
    }
}
