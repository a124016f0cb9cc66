using System.Buffers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Google.Protobuf;
using GraphPipe.Server.OpenInference.Grpc;
using Grpc.Core;

namespace GraphPipe.Benchmarks;

/// <summary>
/// The OIP gRPC door's ModelInfer marshalling, per call, against the floor (a copy of the tensor bytes):
/// Google.Protobuf's generated parse (a fresh array per <c>raw_input_contents</c> entry) and write, vs.
/// <see cref="OipMarshallers"/> (raw contents read into one pooled buffer; outputs written from the
/// stage's buffers). The payload arrives as Kestrel hands it over, in 4 KB segments, and responses go
/// into a writer of 4 KB spans, as the HTTP/2 response pipe's.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class OipMarshallerBenchmarks
{
    private byte[] _source = [];
    private byte[] _destination = [];
    private ReadOnlySequence<byte> _payload;
    private Deserialization _deserialization = null!;
    private ModelInferResponse _generatedResponse = null!;
    private RawMessage<ModelInferResponse> _rawResponse = null!;
    private SpanWriter _writer = null!;
    private Serialization _serialization = null!;

    /// <summary>Image side: 32 (12 KB tensor) or 224 (602 KB, 1x3x224x224 float32).</summary>
    [Params(32, 224)]
    public int ImageSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new byte[3 * ImageSize * ImageSize * sizeof(float)];
        new Random(42).NextBytes(_source);
        _destination = new byte[_source.Length];
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1, 3, ImageSize, ImageSize } };
        var request = new ModelInferRequest { ModelName = "identity", Inputs = { input }, RawInputContents = { UnsafeByteOperations.UnsafeWrap(_source) } };
        _payload = Segments(request.ToByteArray(), 4096);
        _deserialization = new Deserialization(_payload);
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = "output", Datatype = "FP32", Shape = { 1, 3, ImageSize, ImageSize } };
        _generatedResponse = new ModelInferResponse { ModelName = "identity", ModelVersion = "1", Outputs = { output }, RawOutputContents = { UnsafeByteOperations.UnsafeWrap(_source) } };
        _rawResponse = new RawMessage<ModelInferResponse>(new ModelInferResponse { ModelName = "identity", ModelVersion = "1", Outputs = { output.Clone() } }, [_source]);
        _writer = new SpanWriter(_source.Length + 1024, 4096);
        _serialization = new Serialization(_writer);
    }

    [Benchmark(Baseline = true, Description = "memcpy of the tensor bytes")]
    public void Memcpy() => _source.AsSpan().CopyTo(_destination);

    [Benchmark(Description = "request: Google.Protobuf parse")]
    public int ParseGenerated() => ModelInferRequest.Parser.ParseFrom(_payload).RawInputContents[0].Length;

    [Benchmark(Description = "request: OipMarshallers read (pooled)")]
    public int ReadRaw()
    {
        using var request = OipMarshallers.InferRequest.ContextualDeserializer(_deserialization);
        return request.Raw[0].Length;
    }

    [Benchmark(Description = "response: Google.Protobuf write (UnsafeWrap)")]
    public int WriteGenerated()
    {
        _writer.Reset();
        _serialization.SetPayloadLength(_generatedResponse.CalculateSize());
        _generatedResponse.WriteTo(_serialization.GetBufferWriter());
        return _writer.Written;
    }

    [Benchmark(Description = "response: OipMarshallers write")]
    public int WriteRaw()
    {
        _writer.Reset();
        OipMarshallers.InferResponse.ContextualSerializer(_rawResponse, _serialization);
        return _writer.Written;
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var segment = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), at);
            last?.SetNext(segment);
            first ??= segment;
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }

    private sealed class Deserialization(ReadOnlySequence<byte> payload) : DeserializationContext
    {
        public override int PayloadLength => (int)payload.Length;

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => payload;
    }

    private sealed class Serialization(IBufferWriter<byte> writer) : SerializationContext
    {
        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override IBufferWriter<byte> GetBufferWriter() => writer;

        public override void Complete()
        {
        }
    }

    /// <summary>A reusable writer into one array, handing out spans of at most <c>span</c> bytes.</summary>
    private sealed class SpanWriter(int capacity, int span) : IBufferWriter<byte>
    {
        private readonly byte[] _buffer = new byte[capacity];

        public int Written { get; private set; }

        public void Reset() => Written = 0;

        public void Advance(int count) => Written += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.AsMemory(Written, Math.Min(Math.Max(sizeHint, span), _buffer.Length - Written));

        public Span<byte> GetSpan(int sizeHint = 0) => _buffer.AsSpan(Written, Math.Min(Math.Max(sizeHint, span), _buffer.Length - Written));
    }
}
