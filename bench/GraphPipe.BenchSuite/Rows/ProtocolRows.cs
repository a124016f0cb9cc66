using System.Buffers;
using System.Runtime.InteropServices;
using GraphPipe.Wire;

namespace GraphPipe.BenchSuite.Rows;

/// <summary>
/// Row 1: the wire format. Encode/decode of a 1x3x224x224 float32 request against the floor (a memcpy of
/// its 602,112 tensor bytes) and against the JSON alternative (Open Inference Protocol / KServe v2).
/// </summary>
internal sealed class ProtocolRows : IBenchRow
{
    private const string Group = "protocol";

    public string Id => Group;

    public string Title => "protocol: GraphPipe flatbuffers vs memcpy and OIP JSON";

    public Task<IReadOnlyList<RowResult>> RunAsync(SuiteContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var large = TestData.Image(224);
        var small = TestData.Image(32);
        var largeRequest = Request(large);
        var smallEncoded = new GraphPipeWriter().WriteInferRequest(Request(small)).ToArray();
        var largeEncoded = new GraphPipeWriter().WriteInferRequest(largeRequest).ToArray();
        var source = large.Data.ToArray();
        var destination = new byte[source.Length];
        var floats = MemoryMarshal.Cast<byte, float>(source).ToArray();
        var writer = new GraphPipeWriter();
        var json = new ArrayBufferWriter<byte>(8 * 1024 * 1024);
        OipJson.WriteInferRequest(json, "input", large.Shape.AsSpan(), floats);
        var jsonEncoded = json.WrittenSpan.ToArray();
        var sink = 0L;

        // Each action returns nothing but feeds a sink, so the JIT cannot drop the work.
        Action memcpy = () => source.AsSpan().CopyTo(destination);
        Action encode = () => sink += writer.WriteInferRequest(largeRequest).Length;
        Action decodeLarge = () => sink += GraphPipeReader.ReadRequest(largeEncoded).Infer!.Inputs[0].Data.Length;
        Action decodeSmall = () => sink += GraphPipeReader.ReadRequest(smallEncoded).Infer!.Inputs[0].Data.Length;
        Action graphPipeBoth = () =>
        {
            var bytes = writer.WriteInferRequest(largeRequest);
            // The parsed tensor is a view of the buffer; reading one element proves it is usable as floats.
            var tensor = GraphPipeReader.ReadRequest(bytes).Infer!.Inputs[0];
            sink += (long)MemoryMarshal.Cast<byte, float>(tensor.Data.Span)[^1];
        };
        Action jsonWrite = () =>
        {
            json.ResetWrittenCount();
            OipJson.WriteInferRequest(json, "input", large.Shape.AsSpan(), floats);
            sink += json.WrittenCount;
        };
        Action jsonRead = () => sink += OipJson.ReadFirstInput(jsonEncoded).Data.Length;
        Action jsonBoth = () =>
        {
            json.ResetWrittenCount();
            OipJson.WriteInferRequest(json, "input", large.Shape.AsSpan(), floats);
            sink += (long)OipJson.ReadFirstInput(json.WrittenSpan).Data[^1];
        };

        context.Progress("protocol: JIT warm-up");
        foreach (var action in new[] { memcpy, encode, decodeLarge, decodeSmall, graphPipeBoth, jsonWrite, jsonRead, jsonBoth })
        {
            Harness.Warm(action, context.JitWarmup);
        }

        context.Progress("protocol: encode vs memcpy");
        var (tEncode, tMemcpy) = RowHelpers.Alternate(context, encode, memcpy, context.MicroTime, cancellationToken);
        context.Progress("protocol: decode 224 vs decode 32");
        var (tDecodeLarge, tDecodeSmall) = RowHelpers.Alternate(context, decodeLarge, decodeSmall, context.MicroTime, cancellationToken);
        context.Progress("protocol: GraphPipe vs JSON");
        // JSON takes milliseconds per operation: a longer budget keeps its sample count useful.
        var jsonTime = context.MicroTime * 2;
        var (tBoth, tJsonBoth) = RowHelpers.Alternate(context, graphPipeBoth, jsonBoth, jsonTime, cancellationToken);
        var (tJsonWrite, tJsonRead) = RowHelpers.Alternate(context, jsonWrite, jsonRead, jsonTime, cancellationToken);
        GC.KeepAlive(sink);

        var bytes = source.Length.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        return Task.FromResult<IReadOnlyList<RowResult>>(
        [
            Micro("encode 1x3x224x224 vs memcpy", tEncode, tMemcpy, RowTarget.RatioAtMost(2), RatioOf.OursOverBaseline,
                $"memcpy of the {bytes} tensor bytes is the floor: encoding has to copy them once; writer reused"),
            Micro("decode 1x3x224x224 vs memcpy", tDecodeLarge, tMemcpy, RowTarget.OursAtMost(5), RatioOf.OursOverBaseline,
                "zero-copy: the tensor is a view of the request buffer, so decode costs a fraction of one copy"),
            Micro("decode 1x3x224x224 vs 1x3x32x32", tDecodeLarge, tDecodeSmall, RowTarget.RatioAtMost(1.5), RatioOf.OursOverBaseline,
                "size independence: 49x more tensor bytes, same decode time"),
            Micro("GraphPipe encode+decode vs OIP JSON write+parse", tBoth, tJsonBoth, RowTarget.RatioAtLeast(50), RatioOf.BaselineOverOurs,
                FormattableString.Invariant($"ratio = how many times faster; {jsonEncoded.Length:N0} bytes of JSON vs {largeEncoded.Length:N0} of flatbuffers")),
            Micro("GraphPipe encode vs OIP JSON write", tEncode, tJsonWrite, RowTarget.None, RatioOf.BaselineOverOurs, "ratio = how many times faster"),
            Micro("GraphPipe decode vs OIP JSON parse to float[]", tDecodeLarge, tJsonRead, RowTarget.None, RatioOf.BaselineOverOurs, "ratio = how many times faster"),
        ]);
    }

    private static InferRequest Request(Tensor tensor) => new() { InputNames = ["input"], Inputs = [tensor], OutputNames = ["output"] };

    private static RowResult Micro(string name, Samples ours, Samples baseline, RowTarget target, RatioOf ratioOf, string note)
    {
        const double NsPerUs = 1000;
        return RowResult.Compare(Group, name, ours.MedianNs / NsPerUs, baseline.MedianNs / NsPerUs, "µs", target, ratioOf, ours.P90Ns / NsPerUs, baseline.P90Ns / NsPerUs,
            FormattableString.Invariant($"{note}; alloc/op {ours.AllocatedBytesPerOp:N0} B vs {baseline.AllocatedBytesPerOp:N0} B"));
    }
}
