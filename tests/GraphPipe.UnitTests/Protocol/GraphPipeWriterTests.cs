using System.Runtime.InteropServices;
using GraphPipe.Wire;

namespace GraphPipe.UnitTests;

/// <summary>
/// The writer sizes its buffer once per message (growing a flatbuffers builder copies everything written so far),
/// without sizing it far beyond the message; it writes missing (null) strings as empty ones; its pool keeps at
/// most 64 writers and none whose buffer grew past 64 MiB. Written from Stryker's surviving mutants of
/// <c>GraphPipeWriter</c> (docs/testing.md).
/// </summary>
public sealed class GraphPipeWriterTests
{
    private static string Names(int length, int i) => new((char)('a' + (i % 26)), length);

    /// <summary>Requests each dominated by one part of the size estimate, and the most the writer may size its buffer, as a multiple of the message.</summary>
    public static TheoryData<string, InferRequest, double> Requests => new()
    {
        { "empty request", new InferRequest(), 8 },
        { "one large float tensor", new InferRequest { Inputs = [Tensor.Create<float>(new float[250_000], 500, 500)] }, 1.1 },
        { "scalar tensors", new InferRequest { Inputs = Enumerable.Range(0, 5000).Select(i => Tensor.Scalar((byte)i)).ToArray() }, 2 },
        { "rank-32 tensors", new InferRequest { Inputs = Enumerable.Range(0, 500).Select(_ => Tensor.Create<byte>([1], Enumerable.Repeat(1L, 32).ToArray())).ToArray() }, 1.5 },
        { "one-byte strings", new InferRequest { Inputs = [Tensor.FromStrings(Enumerable.Range(0, 20_000).Select(i => Names(1, i)).ToArray())] }, 1.3 },
        { "100-byte strings", new InferRequest { Inputs = [Tensor.FromStrings(Enumerable.Range(0, 2000).Select(i => Names(100, i)).ToArray())] }, 1.3 },
        { "one-letter input names", new InferRequest { InputNames = Enumerable.Range(0, 20_000).Select(i => Names(1, i)).ToArray() }, 1.6 },
        { "100-letter input names", new InferRequest { InputNames = Enumerable.Range(0, 2000).Select(i => Names(100, i)).ToArray() }, 3.5 },
        { "one-letter output names", new InferRequest { OutputNames = Enumerable.Range(0, 20_000).Select(i => Names(1, i)).ToArray() }, 1.6 },
        { "100-letter output names", new InferRequest { OutputNames = Enumerable.Range(0, 2000).Select(i => Names(100, i)).ToArray() }, 3.5 },
        { "100k-letter config", new InferRequest { Config = new string('c', 100_000) }, 3.5 },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void WriteInferRequest_AnySizedParts_BufferSizedOnceAndNotFarBeyondTheMessage(string what, InferRequest request, double most)
    {
        var writer = new GraphPipeWriter(64);

        var wire = writer.WriteInferRequest(request);

        // The builder grows by replacing its array with one twice as large: the array the message ends in is the one sized up front.
        Assert.True(MemoryMarshal.TryGetArray(wire, out var segment), what);
        Assert.True(segment.Array!.Length == writer.Capacity, $"{what}: the builder grew from {writer.Capacity} to {segment.Array.Length} bytes for a {wire.Length}-byte message");
        Assert.True(writer.Capacity <= (most * wire.Length) + 512, $"{what}: {writer.Capacity} bytes sized for a {wire.Length}-byte message");
        Assert.Equal(request.Inputs.Count, GraphPipeReader.ReadRequest(wire).Infer!.Inputs.Count);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1000, 0)]
    [InlineData(100_000, 0)]
    [InlineData(0, 4)]   // errors are not estimated: a few fit in the allowance every response gets
    public void WriteInferResponse_AnySizedTensors_BufferSizedOnce(int elements, int errors)
    {
        var writer = new GraphPipeWriter(64);

        var wire = writer.WriteInferResponse(
            [Tensor.Create<float>(new float[elements], elements), Tensor.FromStrings(Enumerable.Range(0, elements).Select(i => Names(1, i)).ToArray())],
            Enumerable.Range(0, errors).Select(i => new GraphPipeError(i, Names(20, i))).ToArray());

        Assert.True(MemoryMarshal.TryGetArray(wire, out var segment));
        Assert.True(segment.Array!.Length == writer.Capacity, $"the builder grew from {writer.Capacity} to {segment.Array.Length} bytes for a {wire.Length}-byte message");
        Assert.True(writer.Capacity <= (1.5 * wire.Length) + 1024, $"{writer.Capacity} bytes sized for a {wire.Length}-byte message");
        Assert.Equal(errors, GraphPipeReader.ReadInferResponse(wire).Errors.Count);
    }

    [Fact]
    public void WriteMetadataRequest_AfterALargeMessage_ReusesTheBuffer()
    {
        var writer = new GraphPipeWriter(64);
        var large = writer.WriteInferRequest(new InferRequest { Inputs = [Tensor.Create<float>(new float[10_000], 10_000)] });
        Assert.True(MemoryMarshal.TryGetArray(large, out var first));

        var small = writer.WriteMetadataRequest();

        Assert.True(MemoryMarshal.TryGetArray(small, out var second));
        Assert.Same(first.Array, second.Array);
        Assert.Equal(new GraphPipeWriter().WriteMetadataRequest().ToArray(), small.ToArray());
        Assert.Equal(RequestKind.Metadata, GraphPipeReader.ReadRequest(small).Kind);
    }

    [Fact]
    public void WriteInferRequest_SlightlyLargerThanTheBuffer_AtLeastDoublesIt()
    {
        var writer = new GraphPipeWriter(16_384);

        writer.WriteInferRequest(new InferRequest { Inputs = [Tensor.Create<byte>(new byte[16_000], 16_000)] });

        Assert.Equal(32_768, writer.Capacity);
    }

    [Theory]
    [InlineData(0, 64)]
    [InlineData(63, 64)]
    [InlineData(65, 65)]
    [InlineData(10_000, 10_000)]
    public void Constructor_InitialCapacity_AtLeast64(int initial, int expected)
        => Assert.Equal(expected, new GraphPipeWriter(initial).Capacity);

    [Theory]
    [InlineData(4096, 5000, 8192)]                     // at least doubles
    [InlineData(4096, 10_000, 10_000)]                 // or takes what is wanted when that is more
    [InlineData(1_500_000_000, 1_600_000_000, 1_600_000_000)]  // never doubles past the largest array
    [InlineData(100, 0x7FFFFFC7, 0x7FFFFFC7)]          // the largest array itself (Array.MaxLength)
    public void GrownCapacity_Wanted_AtLeastDoublesUpToTheLargestArray(int capacity, long wanted, int expected)
        => Assert.Equal(expected, GraphPipeWriter.GrownCapacity(capacity, wanted, wanted));

    [Fact]
    public void GrownCapacity_BeyondTheLargestArray_RefusedStatingTheEstimate()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => GraphPipeWriter.GrownCapacity(100, Array.MaxLength + 1L, 2_100_000_000));

        Assert.Equal("Message of about 2100000000 bytes is too large to encode.", ex.Message);
    }

    [Theory]
    [InlineData("request")]
    [InlineData("response")]
    [InlineData("metadata")]
    public void Write_NullMessage_ThrowsArgumentNull(string message)
    {
        var writer = new GraphPipeWriter();

        var ex = Assert.Throws<ArgumentNullException>(() => message switch
        {
            "request" => writer.WriteInferRequest(null!),
            "response" => writer.WriteInferResponse(null!),
            _ => writer.WriteMetadataResponse(null!),
        });

        Assert.Equal(message == "response" ? "outputs" : message, ex.ParamName);
    }

    [Fact]
    public void WriteInferRequest_EstimatedBeyondTheLargestArray_RefusedBeforeWriting()
    {
        // 3000 references to one 1 MB tensor: about 3 GB to encode, from 1 MB of memory.
        var tensor = Tensor.Create<byte>(new byte[1 << 20], 1 << 20);
        var request = new InferRequest { Inputs = new Repeated<Tensor>(tensor, 3000) };

        var ex = Assert.Throws<InvalidOperationException>(() => new GraphPipeWriter().WriteInferRequest(request));

        Assert.Contains("is too large to encode", ex.Message, StringComparison.Ordinal);
    }

    private sealed class Repeated<T>(T item, int count) : IReadOnlyList<T>
    {
        public T this[int index] => item;

        public int Count => count;

        public IEnumerator<T> GetEnumerator() => Enumerable.Repeat(item, count).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void WriteInferRequest_NullStrings_WrittenEmpty()
    {
        var wire = new GraphPipeWriter().WriteInferRequest(new InferRequest { Config = null!, InputNames = [null!, "b"], OutputNames = [null!] });

        var infer = GraphPipeReader.ReadRequest(wire).Infer!;

        Assert.Equal(string.Empty, infer.Config);
        Assert.Equal(["", "b"], infer.InputNames);
        Assert.Equal([""], infer.OutputNames);
    }

    [Fact]
    public void WriteInferResponse_NullErrorsAndMessages_WrittenEmpty()
    {
        var writer = new GraphPipeWriter();

        Assert.Empty(GraphPipeReader.ReadInferResponse(writer.WriteInferResponse([Tensor.Scalar(1f)], null)).Errors);
        Assert.Equal([new GraphPipeError(5, "")], GraphPipeReader.ReadInferResponse(writer.WriteInferResponse([], [new GraphPipeError(5, null!)])).Errors);
    }

    [Fact]
    public void WriteMetadataResponse_NullStringsAndDefaultShape_WrittenEmpty()
    {
        var wire = new GraphPipeWriter().WriteMetadataResponse(new StageMetadata
        {
            Name = null!,
            Version = null!,
            Server = null!,
            Description = null!,
            Inputs = [new IOMetadata(null!, TensorType.Float32, default, null!)],
            Outputs = [new IOMetadata("out", TensorType.Int64, default)],
        });

        var metadata = GraphPipeReader.ReadMetadataResponse(wire);

        Assert.Equal(("", "", "", ""), (metadata.Name, metadata.Version, metadata.Server, metadata.Description));
        Assert.Equal(("", "", TensorType.Float32), (metadata.Inputs[0].Name, metadata.Inputs[0].Description, metadata.Inputs[0].Type));
        Assert.Empty(metadata.Inputs[0].Shape);
        Assert.Equal(("out", TensorType.Int64), (metadata.Outputs[0].Name, metadata.Outputs[0].Type));
    }
}

/// <summary>
/// The shared writer pool. Alone in its collection: other tests rent and return writers, and these count what the pool keeps.
/// </summary>
[Collection(nameof(WriterPoolCollection))]
public sealed class GraphPipeWriterPoolTests
{
    private const int MaxPooledWriters = 64;

    /// <summary>Rents until the pool must be empty (it holds at most 64).</summary>
    private static void Drain()
    {
        for (var i = 0; i < 2 * MaxPooledWriters; i++)
        {
            GraphPipeWriter.Rent();
        }
    }

    /// <summary>How many of <paramref name="returned"/> the pool gives back, renting until it must be empty.</summary>
    private static int KeptOf(IReadOnlyCollection<GraphPipeWriter> returned)
    {
        var kept = 0;
        for (var i = 0; i < 2 * MaxPooledWriters; i++)
        {
            kept += returned.Contains(GraphPipeWriter.Rent()) ? 1 : 0;
        }

        return kept;
    }

    [Fact]
    public void Rent_EmptyPool_NewWriterOfDefaultCapacity()
    {
        Drain();

        Assert.Equal(4096, GraphPipeWriter.Rent().Capacity);
    }

    [Fact]
    public void Return_ThenRent_SameWriter()
    {
        Drain();
        var writer = new GraphPipeWriter();

        GraphPipeWriter.Return(writer);

        Assert.Same(writer, GraphPipeWriter.Rent());
        Assert.NotSame(writer, GraphPipeWriter.Rent());
    }

    [Fact]
    public void Return_MoreThan64_Keeps64AndStillTakesWritersOnceRentedOut()
    {
        Drain();
        var returned = Enumerable.Range(0, 3 * MaxPooledWriters).Select(_ => new GraphPipeWriter(64)).ToArray();

        foreach (var writer in returned)
        {
            GraphPipeWriter.Return(writer);
        }

        Assert.Equal(MaxPooledWriters, KeptOf(returned));
        // The refusals must not have used up places in the pool: it is empty now, so one more is kept.
        var next = new GraphPipeWriter(64);
        GraphPipeWriter.Return(next);
        Assert.Same(next, GraphPipeWriter.Rent());
    }

    [Fact]
    public void Rent_64TakenOut_PoolTakes64Again()
    {
        Drain();
        var first = Enumerable.Range(0, MaxPooledWriters).Select(_ => new GraphPipeWriter(64)).ToArray();
        foreach (var writer in first)
        {
            GraphPipeWriter.Return(writer);
        }

        Assert.Equal(MaxPooledWriters, KeptOf(first));
        var second = Enumerable.Range(0, MaxPooledWriters).Select(_ => new GraphPipeWriter(64)).ToArray();
        foreach (var writer in second)
        {
            GraphPipeWriter.Return(writer);
        }

        Assert.Equal(MaxPooledWriters, KeptOf(second));
    }

    [Theory]
    [InlineData(64 * 1024 * 1024, 1)]
    [InlineData((64 * 1024 * 1024) + 1, 0)]
    public void Return_LargeWriter_KeptUpTo64MiB(int capacity, int kept)
    {
        Drain();
        var large = new GraphPipeWriter(capacity);

        GraphPipeWriter.Return(large);

        Assert.Equal(kept, KeptOf([large]));
        // A refused large writer must not take a place either.
        var returned = Enumerable.Range(0, MaxPooledWriters).Select(_ => new GraphPipeWriter(64)).ToArray();
        foreach (var writer in returned)
        {
            GraphPipeWriter.Return(writer);
        }

        Assert.Equal(MaxPooledWriters, KeptOf(returned));
    }
}

[CollectionDefinition(nameof(WriterPoolCollection), DisableParallelization = true)]
public sealed class WriterPoolCollection;
