using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Google.FlatBuffers;

namespace GraphPipe.Wire;

/// <summary>
/// Writes GraphPipe messages with a reusable flatbuffers builder. The returned memory is a view of the
/// writer's buffer: it is valid until the next write on this writer (or until it goes back to the pool).
/// Not thread-safe; use <see cref="Rent"/>/<see cref="Return"/> to share writers across requests.
/// </summary>
public sealed class GraphPipeWriter
{
    private const int DefaultCapacity = 4096;
    // Writers whose buffer grew past this are not kept by the pool, so one huge message does not pin memory forever.
    private const int MaxPooledCapacity = 64 * 1024 * 1024;
    private const int MaxPooledWriters = 64;
    private static readonly ConcurrentQueue<GraphPipeWriter> Pool = new();
    private static int s_pooled;

    private FlatBufferBuilder _builder;
    private int _capacity;
    private int[] _offsets = new int[16];

    public GraphPipeWriter(int initialCapacity = DefaultCapacity)
    {
        _capacity = Math.Max(initialCapacity, 64);
        _builder = new FlatBufferBuilder(_capacity);
    }

    /// <summary>
    /// The size the builder was given for the last message. The builder grows past it (copying everything written
    /// so far) only when the size estimate was too small; tests check that it is not.
    /// </summary>
    internal int Capacity => _capacity;

    /// <summary>Takes a writer from the shared pool (or creates one).</summary>
    public static GraphPipeWriter Rent()
    {
        if (Pool.TryDequeue(out var writer))
        {
            Interlocked.Decrement(ref s_pooled);
            return writer;
        }

        return new GraphPipeWriter();
    }

    /// <summary>Returns a writer to the shared pool. Memory it returned earlier must no longer be used.</summary>
    public static void Return(GraphPipeWriter writer)
    {
        if (writer._capacity > MaxPooledCapacity || Interlocked.Increment(ref s_pooled) > MaxPooledWriters)
        {
            if (writer._capacity <= MaxPooledCapacity) Interlocked.Decrement(ref s_pooled);
            return;
        }

        Pool.Enqueue(writer);
    }

    public ReadOnlyMemory<byte> WriteInferRequest(InferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Reset(EstimateTensors(request.Inputs) + EstimateStrings(request.InputNames) + EstimateStrings(request.OutputNames) + ((request.Config?.Length ?? 0) * 3L));
        var b = _builder;
        // Reference clients always write both name vectors and the config, possibly empty.
        var config = b.CreateString(request.Config ?? string.Empty);
        var inputNames = WriteStringVector(request.InputNames);
        var tensors = WriteTensorVector(request.Inputs);
        var outputNames = WriteStringVector(request.OutputNames);
        b.StartTable(4);
        b.AddOffset(3, outputNames, 0);
        b.AddOffset(2, tensors, 0);
        b.AddOffset(1, inputNames, 0);
        b.AddOffset(0, config.Value, 0);
        var infer = b.EndTable();
        return FinishRequest(RequestKind.Infer, infer);
    }

    public ReadOnlyMemory<byte> WriteMetadataRequest()
    {
        Reset(64);
        _builder.StartTable(0);
        var meta = _builder.EndTable();
        return FinishRequest(RequestKind.Metadata, meta);
    }

    public ReadOnlyMemory<byte> WriteInferResponse(IReadOnlyList<Tensor> outputs, IReadOnlyList<GraphPipeError>? errors = null)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        Reset(EstimateTensors(outputs) + 256);
        var b = _builder;
        var tensors = WriteTensorVector(outputs);
        // Written even when empty, as the reference implementations do.
        var errorVector = 0;
        errors ??= [];
        {
            var offsets = new int[errors.Count];
            for (var i = 0; i < errors.Count; i++)
            {
                var message = b.CreateString(errors[i].Message ?? string.Empty);
                b.StartTable(2);
                b.AddLong(0, errors[i].Code, 0);
                b.AddOffset(1, message.Value, 0);
                offsets[i] = b.EndTable();
            }

            errorVector = WriteOffsetVector(offsets);
        }

        b.StartTable(2);
        b.AddOffset(1, errorVector, 0);
        b.AddOffset(0, tensors, 0);
        b.Finish(b.EndTable());
        return Result();
    }

    public ReadOnlyMemory<byte> WriteMetadataResponse(StageMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        Reset(1024);
        var b = _builder;
        var name = b.CreateString(metadata.Name ?? string.Empty);
        var version = b.CreateString(metadata.Version ?? string.Empty);
        var server = b.CreateString(metadata.Server ?? string.Empty);
        var description = b.CreateString(metadata.Description ?? string.Empty);
        var inputs = WriteIoVector(metadata.Inputs);
        var outputs = WriteIoVector(metadata.Outputs);
        b.StartTable(6);
        b.AddOffset(5, outputs, 0);
        b.AddOffset(4, inputs, 0);
        b.AddOffset(3, description.Value, 0);
        b.AddOffset(2, server.Value, 0);
        b.AddOffset(1, version.Value, 0);
        b.AddOffset(0, name.Value, 0);
        b.Finish(b.EndTable());
        return Result();
    }

    private ReadOnlyMemory<byte> FinishRequest(RequestKind kind, int table)
    {
        var b = _builder;
        b.StartTable(2);
        b.AddOffset(1, table, 0);
        b.AddByte(0, (byte)kind, 0);
        b.Finish(b.EndTable());
        return Result();
    }

    private ReadOnlyMemory<byte> Result()
    {
        var buffer = _builder.DataBuffer;
        var segment = buffer.ToArraySegment(buffer.Position, buffer.Length - buffer.Position);
        return segment.AsMemory();
    }

    private void Reset(long estimatedSize)
    {
        // Size the builder up front: growing a flatbuffers builder copies everything written so far.
        var wanted = estimatedSize + (estimatedSize / 16) + 256;
        // Stryker disable once Equality : at wanted == capacity a new builder of the same size replaces the cleared one; the bytes written are the same
        if (wanted > _capacity)
        {
            _capacity = GrownCapacity(_capacity, wanted, estimatedSize);
            _builder = new FlatBufferBuilder(_capacity);
        }
        else
        {
            _builder.Clear();
        }
    }

    /// <summary>
    /// The capacity a writer of <paramref name="capacity"/> takes for a message that wants <paramref name="wanted"/>
    /// bytes: at least double, so a run of growing messages reallocates a logarithmic number of times, but never past
    /// the largest array.
    /// </summary>
    internal static int GrownCapacity(int capacity, long wanted, long estimatedSize)
    {
        if (wanted > Array.MaxLength)
        {
            throw new InvalidOperationException($"Message of about {estimatedSize} bytes is too large to encode.");
        }

        // Stryker disable once Equality : Array.MaxLength is odd, so twice a capacity never equals it
        return (int)Math.Max(wanted, (long)capacity * 2 > Array.MaxLength ? wanted : capacity * 2L);
    }

    private int WriteTensorVector(IReadOnlyList<Tensor> tensors)
    {
        var count = tensors.Count;
        var offsets = RentOffsets(count);
        for (var i = 0; i < count; i++)
        {
            offsets[i] = WriteTensor(tensors[i]);
        }

        return WriteOffsetVector(offsets.AsSpan(0, count));
    }

    private int WriteTensor(Tensor tensor)
    {
        var b = _builder;
        var data = 0;
        var strings = 0;
        if (tensor.IsString)
        {
            var values = tensor.Strings;
            var offsets = new int[values.Count];
            for (var i = 0; i < offsets.Length; i++)
            {
                offsets[i] = WriteByteString(values[i].Span);
            }

            strings = WriteOffsetVector(offsets);
        }
        else
        {
            data = WriteByteVector(tensor.Data.Span);
        }

        var shape = WriteLongVector(tensor.Shape.AsSpan());
        b.StartTable(4);
        if (strings != 0) b.AddOffset(3, strings, 0);
        if (data != 0) b.AddOffset(2, data, 0);
        b.AddOffset(1, shape, 0);
        b.AddByte(0, (byte)tensor.Type, 0);
        return b.EndTable();
    }

    private int WriteIoVector(IReadOnlyList<IOMetadata> items)
    {
        var b = _builder;
        var offsets = new int[items.Count];
        for (var i = 0; i < offsets.Length; i++)
        {
            var io = items[i];
            var name = b.CreateString(io.Name ?? string.Empty);
            var description = b.CreateString(io.Description ?? string.Empty);
            // A default (never set) shape gives the empty span: written as an empty shape.
            var shape = WriteLongVector(io.Shape.AsSpan());
            b.StartTable(4);
            b.AddOffset(0, name.Value, 0);
            b.AddOffset(1, description.Value, 0);
            b.AddOffset(2, shape, 0);
            b.AddByte(3, (byte)io.Type, 0);
            offsets[i] = b.EndTable();
        }

        return WriteOffsetVector(offsets);
    }

    private int WriteStringVector(IReadOnlyList<string> values)
    {
        var offsets = new int[values.Count];
        for (var i = 0; i < offsets.Length; i++)
        {
            offsets[i] = _builder.CreateString(values[i] ?? string.Empty).Value;
        }

        return WriteOffsetVector(offsets);
    }

    private int WriteOffsetVector(ReadOnlySpan<int> offsets)
    {
        var b = _builder;
        b.StartVector(4, offsets.Length, 4);
        for (var i = offsets.Length - 1; i >= 0; i--)
        {
            b.AddOffset(offsets[i]);
        }

        return b.EndVector().Value;
    }

    private int WriteLongVector(ReadOnlySpan<long> values)
    {
        var b = _builder;
        b.StartVector(8, values.Length, 8);
        for (var i = values.Length - 1; i >= 0; i--)
        {
            b.AddLong(values[i]);
        }

        return b.EndVector().Value;
    }

    private unsafe int WriteByteVector(ReadOnlySpan<byte> bytes)
    {
        var b = _builder;
        b.StartVector(1, bytes.Length, 1);
        if (!bytes.IsEmpty)
        {
            fixed (byte* p = bytes)
            {
                b.Put<byte>((IntPtr)p, bytes.Length);
            }
        }

        return b.EndVector().Value;
    }

    /// <summary>A flatbuffers string of arbitrary bytes: length-prefixed and NUL-terminated, as the spec writes strings.</summary>
    private int WriteByteString(ReadOnlySpan<byte> bytes)
    {
        _builder.AddByte(0);
        return WriteByteVector(bytes);
    }

    private int[] RentOffsets(int count)
    {
        // Offsets are consumed before any nested call needs the array again, except for nested tensors;
        // tensor vectors are never nested, so one scratch array per writer is enough.
        // Stryker disable once Equality : an array of exactly count offsets is replaced by another of the same length; only an allocation differs
        if (_offsets.Length < count)
        {
            // Stryker disable once Arithmetic : a smaller step still gives at least count slots; only how often the scratch array is reallocated differs
            _offsets = new int[Math.Max(count, _offsets.Length * 2)];
        }

        return _offsets;
    }

    private static long EstimateTensors(IReadOnlyList<Tensor> tensors)
    {
        long size = 64;
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            size += 64 + (8L * t.Shape.Length) + t.Data.Length;
            if (t.IsString)
            {
                var values = t.Strings;
                for (var j = 0; j < values.Count; j++)
                {
                    size += values[j].Length + 12;
                }
            }
        }

        return size;
    }

    private static long EstimateStrings(IReadOnlyList<string> values)
    {
        long size = 8;
        for (var i = 0; i < values.Count; i++)
        {
            size += (values[i]?.Length ?? 0) * 3L + 12;
        }

        return size;
    }
}
