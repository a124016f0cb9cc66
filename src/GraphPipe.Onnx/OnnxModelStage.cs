using System.Buffers;
using System.Collections.Immutable;
using GraphPipe.Stages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace GraphPipe.Onnx;

/// <summary>
/// Serves an ONNX model as a stage. Holds <see cref="OnnxModelOptions.EngineCount"/> sessions, each run on a
/// thread of its own (<see cref="SessionThreads"/>); a request waits for a free one. Numeric inputs are handed to ONNX Runtime as views of the request buffer
/// (pinned, not copied); outputs are returned as views of ONNX Runtime's buffers until the result is disposed.
/// </summary>
public sealed partial class OnnxModelStage : IInferenceStage, IDisposable
{
    private readonly InferenceSession[] _sessions;
    private readonly SessionThreads? _threads;

    /// <summary>The sessions run on CPUs of their own (<see cref="OnnxModelOptions.Cpus"/>).</summary>
    private readonly bool _pinned;
    private readonly TensorElementType[] _inputOrtTypes;
    private readonly Dictionary<string, int> _inputIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _outputIndex = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    /// <summary>The model is fixed at batch 1: requests of N rows run it N times (<see cref="OnnxModelOptions.SplitFixedBatch"/>).</summary>
    private readonly bool _splitRows;

    public OnnxModelStage(OnnxModelOptions options, ILogger<OnnxModelStage>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(options, new(options), validateAllProperties: true);
        if (!File.Exists(options.ModelPath))
        {
            throw new FileNotFoundException($"ONNX model '{options.ModelPath}' does not exist.", options.ModelPath);
        }

        _logger = logger ?? NullLogger<OnnxModelStage>.Instance;
        // Checked by the options' validation above: CPUs this process may run on.
        int[] cpus = [.. options.Cpus.Distinct().Order()];
        _pinned = cpus.Length > 0;
        var intraOpThreads = cpus.Length > 0 && options.IntraOpThreads == 0 ? cpus.Length : options.IntraOpThreads;
        _sessions = new InferenceSession[options.EngineCount];
        try
        {
            for (var i = 0; i < _sessions.Length; i++)
            {
                // Stryker disable once all : session tuning (threads, spinning, graph optimisation) changes speed, not what the model computes
                using var sessionOptions = new SessionOptions
                {
                    IntraOpNumThreads = intraOpThreads,
                    InterOpNumThreads = 1,
                    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    GraphOptimizationLevel = options.OptimizeGraph ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL,
                };
                // Stryker disable once all : session tuning (threads, spinning, graph optimisation) changes speed, not what the model computes
                if (!options.IntraOpSpinning)
                {
                    sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                }

                if (cpus.Length > 0 && intraOpThreads > 1)
                {
                    sessionOptions.AddSessionConfigEntry("session.intra_op_thread_affinities", CpuAffinity.OrtIntraOpAffinities(cpus, intraOpThreads));
                }

                if (options.ExecutionProvider == OnnxExecutionProvider.Cuda)
                {
                    OnnxProviders.AppendCuda(sessionOptions, options.DeviceId);
                }

                _sessions[i] = new InferenceSession(options.ModelPath, sessionOptions);
            }
        }
        catch (OnnxRuntimeException ex) when (options.ExecutionProvider == OnnxExecutionProvider.Cuda && OnnxProviders.IsProviderFailure(ex))
        {
            // Stryker disable once Statement : disposes the sessions made before the failure (native memory); nothing a caller can observe
            Dispose();
            throw OnnxProviders.CudaUnavailable(ex.Message, ex);
        }
        catch (Exception ex) when (ex is not OnnxRuntimeException)
        {
            // Stryker disable once Statement : disposes the sessions made before the failure (native memory); nothing a caller can observe
            Dispose();
            throw;
        }
        catch (OnnxRuntimeException ex)
        {
            // Stryker disable once Statement : disposes the sessions made before the failure (native memory); nothing a caller can observe
            Dispose();
            throw new InvalidDataException($"ONNX Runtime could not load '{options.ModelPath}': {ex.Message}", ex);
        }

        var session = _sessions[0];
        var inputs = session.InputNames.Select(n => Describe(n, session.InputMetadata[n])).ToArray();
        var outputs = session.OutputNames.Select(n => Describe(n, session.OutputMetadata[n])).ToArray();
        _splitRows = options.SplitFixedBatch && IsFixedBatchOfOne(inputs) && IsFixedBatchOfOne(outputs);
        if (_splitRows)
        {
            inputs = inputs.Select(AnyRows).ToArray();
            outputs = outputs.Select(AnyRows).ToArray();
        }

        _inputOrtTypes = session.InputNames.Select(n => session.InputMetadata[n].ElementDataType).ToArray();
        for (var i = 0; i < inputs.Length; i++) _inputIndex[inputs[i].Name] = i;
        for (var i = 0; i < outputs.Length; i++) _outputIndex[outputs[i].Name] = i;
        var modelMetadata = session.ModelMetadata;
        Metadata = new StageMetadata
        {
            Name = options.Name ?? Path.GetFileNameWithoutExtension(options.ModelPath),
            Version = options.Version ?? (modelMetadata.Version is > 0 and < long.MaxValue ? modelMetadata.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : "1"),
            Server = "graphpipe-dotnet onnx",
            Description = string.IsNullOrEmpty(modelMetadata.Description) ? $"ONNX model {Path.GetFileName(options.ModelPath)} ({modelMetadata.ProducerName})" : modelMetadata.Description,
            Inputs = inputs,
            Outputs = outputs,
        };
        try
        {
            _threads = new SessionThreads(_sessions, Metadata.Name, cpus, (session, work) => work.Rows == 1
                ? Run(session, work.Request, work.CancellationToken)
                : RunRows(session, work.Request, work.Rows, work.CancellationToken));
        }
        catch
        {
            // Stryker disable once Statement : disposes the sessions when their threads could not be pinned (native memory); nothing a caller can observe
            Dispose();
            throw;
        }

        Log.Loaded(_logger, options.ModelPath, options.EngineCount, intraOpThreads, options.ExecutionProvider, cpus.Length == 0 ? "any" : CpuList.Format(cpus));
    }

    public StageMetadata Metadata { get; }

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var index = _inputIndex[request.InputNames[i]];
            var mismatch = TensorChecks.Mismatch(Metadata.Inputs[index], request.Inputs[i]);
            if (mismatch is not null)
            {
                return StageResult.Failure(StageErrorKind.InvalidInput, mismatch);
            }
        }

        if (request.Inputs.Count < Metadata.Inputs.Count)
        {
            var missing = Metadata.Inputs.Where(m => request.FindInput(m.Name) is null).Select(m => m.ToString());
            return StageResult.Failure(StageErrorKind.InvalidInput, $"missing inputs: {string.Join(", ", missing)}");
        }

        var rows = 1L;
        if (_splitRows && !SameRows(request, out rows))
        {
            var shapes = request.Inputs.Select((t, i) => $"'{Echo.Name(request.InputNames[i])}' {Echo.Shape(t.Shape.AsSpan())}");
            return StageResult.Failure(StageErrorKind.InvalidInput, $"inputs must agree in dimension 0 (rows): {string.Join(", ", shapes)}");
        }

        // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
        return await _threads!.RunAsync(new SessionWork(request, rows, continueOnPool: _pinned, cancellationToken)).ConfigureAwait(false);
    }

    private StageResult Run(InferenceSession session, StageRequest request, CancellationToken cancellationToken)
    {
        var count = request.Inputs.Count;
        var values = new OrtValue[count];
        var pins = new MemoryHandle[count];
        var copies = new byte[]?[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                values[i] = CreateInput(request.Inputs[i], _inputOrtTypes[_inputIndex[request.InputNames[i]]], ref pins[i], ref copies[i]);
            }

            if (RunSession(session, request, values, cancellationToken, out var rejection) is not { } outputs)
            {
                return StageResult.Failure(StageErrorKind.InvalidInput, $"model rejected the inputs: {rejection}");
            }

            try
            {
                var tensors = new Tensor[outputs.Count];
                for (var i = 0; i < tensors.Length; i++)
                {
                    tensors[i] = ToTensor(outputs[i]);
                }

                return StageResult.Success(tensors, outputs);
            }
            catch
            {
                // Stryker disable once Statement : frees ONNX Runtime's outputs when converting them failed (native memory); nothing a caller can observe
                outputs.Dispose();
                throw;
            }
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                // Stryker disable once Statement : frees a native input value or unpins the request's bytes; nothing a caller can observe
                values[i]?.Dispose();
                // Stryker disable once Statement : frees a native input value or unpins the request's bytes; nothing a caller can observe
                pins[i].Dispose();
                if (copies[i] is { } copy) ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    /// <summary>
    /// A batch-1 model fed N rows: one run per row on views of the (pinned) inputs, each row's outputs copied
    /// into its slot of the stacked result. Costs one output copy, which the batch-1 export makes unavoidable.
    /// </summary>
    private unsafe StageResult RunRows(InferenceSession session, StageRequest request, long rows, CancellationToken cancellationToken)
    {
        var count = request.Inputs.Count;
        var pins = new MemoryHandle[count];
        var copies = new byte[]?[count];
        var pointers = new nint[count];
        var rowShapes = new long[count][];
        var values = new OrtValue[count];
        var outputCount = request.OutputNames.Count;
        var stacked = new byte[outputCount][];
        var outputShapes = new long[outputCount][];
        var outputTypes = new TensorType[outputCount];
        try
        {
            for (var i = 0; i < count; i++)
            {
                pointers[i] = (nint)PinAligned(request.Inputs[i], ref pins[i], ref copies[i]);
                rowShapes[i] = [1, .. request.Inputs[i].Shape.AsSpan()[1..]];
            }

            if (rows == 0)
            {
                // Nothing to run: empty outputs of the advertised shape (other dynamic dimensions as 0).
                var empty = request.OutputNames.Select(n => Metadata.Outputs[_outputIndex[n]])
                    .Select(m => Tensor.FromBytes(m.Type, m.Shape.Select(d => Math.Max(d, 0)).ToArray(), ReadOnlyMemory<byte>.Empty))
                    .ToArray();
                return StageResult.Success(empty);
            }

            for (var row = 0L; row < rows; row++)
            {
                // Stryker disable once Statement : without it the next row's run is terminated at once by the same token (RunSession), which throws the same OperationCanceledException
                cancellationToken.ThrowIfCancellationRequested();
                for (var i = 0; i < count; i++)
                {
                    var rowBytes = request.Inputs[i].Data.Length / rows;
                    values[i] = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, _inputOrtTypes[_inputIndex[request.InputNames[i]]], rowShapes[i],
                        pointers[i] + (nint)(row * rowBytes), rowBytes);
                }

                if (RunSession(session, request, values, cancellationToken, out var rejection) is not { } outputs)
                {
                    return StageResult.Failure(StageErrorKind.InvalidInput, $"model rejected row {row} of the inputs: {rejection}");
                }

                using (outputs)
                {
                    for (var o = 0; o < outputCount; o++)
                    {
                        var info = outputs[o].GetTensorTypeAndShape();
                        var raw = outputs[o].GetTensorDataAsSpan<byte>();
                        if (row == 0)
                        {
                            if ((long)raw.Length * rows > Array.MaxLength)
                            {
                                return StageResult.Failure(StageErrorKind.InvalidInput,
                                    $"output '{request.OutputNames[o]}' of {rows} rows would take {(long)raw.Length * rows} bytes, more than one tensor can hold; send fewer rows");
                            }

                            outputTypes[o] = OnnxTypes.ToGraphPipe(info.ElementDataType);
                            outputShapes[o] = info.Shape;
                            stacked[o] = new byte[raw.Length * rows];
                        }
                        else if (!info.Shape.AsSpan().SequenceEqual(outputShapes[o]))
                        {
                            return StageResult.Failure(StageErrorKind.InvalidInput,
                                $"output '{request.OutputNames[o]}': row {row} came out {Echo.Shape(info.Shape)}, row 0 {Echo.Shape(outputShapes[o])}; rows of different shapes cannot be stacked");
                        }

                        raw.CopyTo(stacked[o].AsSpan((int)(row * raw.Length)));
                    }
                }

                // Stryker disable once all : frees this row's native input values before the next row's; nothing a caller can observe (the finally frees the last row's)
                for (var i = 0; i < count; i++)
                {
                    values[i].Dispose();
                    values[i] = null!;
                }
            }

            var tensors = new Tensor[outputCount];
            for (var o = 0; o < outputCount; o++)
            {
                outputShapes[o][0] = rows;
                tensors[o] = Tensor.FromBytes(outputTypes[o], outputShapes[o], stacked[o]);
            }

            return StageResult.Success(tensors);
        }
        finally
        {
            for (var i = 0; i < count; i++)
            {
                // Stryker disable once Statement : frees a native input value or unpins the request's bytes; nothing a caller can observe
                values[i]?.Dispose();
                // Stryker disable once Statement : frees a native input value or unpins the request's bytes; nothing a caller can observe
                pins[i].Dispose();
                if (copies[i] is { } copy) ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    /// <summary>
    /// One ONNX Runtime run, terminated when <paramref name="cancellationToken"/> fires. Null (with ONNX Runtime's
    /// message) when the runtime refuses the inputs: types and shapes were checked against the metadata already,
    /// so what it still refuses (e.g. a dimension an inner node cannot take) is a property of the input, a 400.
    /// </summary>
    private static IDisposableReadOnlyCollection<OrtValue>? RunSession(InferenceSession session, StageRequest request, OrtValue[] values, CancellationToken cancellationToken, out string? rejection)
    {
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
        try
        {
            rejection = null;
            return session.Run(runOptions, request.InputNames, values, request.OutputNames);
        }
        catch (OnnxRuntimeException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("inference was cancelled", ex, cancellationToken);
        }
        catch (OnnxRuntimeException ex)
        {
            rejection = ex.Message;
            return null;
        }
    }

    private static unsafe OrtValue CreateInput(Tensor tensor, TensorElementType ortType, ref MemoryHandle pin, ref byte[]? copy)
    {
        var shape = ImmutableCollectionsMarshalShape(tensor.Shape);
        if (tensor.IsString)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            for (var i = 0; i < tensor.Strings.Count; i++)
            {
                value.StringTensorSetElementAt(tensor.Strings[i].Span, i);
            }

            return value;
        }

        // Stryker disable once Block : an empty tensor pinned and passed with length 0 is the same empty input to ONNX Runtime; the allocation only avoids pinning nothing
        if (tensor.Data.IsEmpty)
        {
            return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, ortType, shape);
        }

        var pointer = PinAligned(tensor, ref pin, ref copy);
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ortType, shape, (IntPtr)pointer, tensor.Data.Length);
    }

    /// <summary>Pins a numeric tensor's bytes in place, or a naturally aligned pooled copy of them where they are not aligned.</summary>
    private static unsafe byte* PinAligned(Tensor tensor, ref MemoryHandle pin, ref byte[]? copy)
    {
        var data = tensor.Data;
        pin = data.Pin();
        var pointer = (byte*)pin.Pointer;
        if ((nuint)pointer % (nuint)tensor.Type.ElementSize() != 0)
        {
            // The flatbuffers data vector has no alignment guarantee; ONNX Runtime kernels expect natural
            // alignment, so an unaligned tensor costs one copy into an aligned pooled buffer.
            // Stryker disable once Statement : unpins the original bytes before pinning the copy; nothing a caller can observe
            pin.Dispose();
            copy = ArrayPool<byte>.Shared.Rent(data.Length);
            data.Span.CopyTo(copy);
            pin = copy.AsMemory(0, data.Length).Pin();
            pointer = (byte*)pin.Pointer;
        }

        return pointer;
    }

    private static bool IsFixedBatchOfOne(IOMetadata[] items)
        => items.Length > 0 && items.All(m => m.Type is not (TensorType.Null or TensorType.String) && m.Shape.Length > 0 && m.Shape[0] == 1);

    private static IOMetadata AnyRows(IOMetadata m) => m with
    {
        Shape = m.Shape.SetItem(0, -1),
        Description = string.IsNullOrEmpty(m.Description) ? "batch-1 model: rows run one at a time" : m.Description + "; batch-1 model: rows run one at a time",
    };

    /// <summary>True when every input has the same dimension 0 (<paramref name="rows"/>).</summary>
    private static bool SameRows(StageRequest request, out long rows)
    {
        rows = request.Inputs[0].Shape[0];
        for (var i = 1; i < request.Inputs.Count; i++)
        {
            if (request.Inputs[i].Shape[0] != rows) return false;
        }

        return true;
    }

    private static unsafe Tensor ToTensor(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var type = OnnxTypes.ToGraphPipe(info.ElementDataType);
        if (type == TensorType.String)
        {
            var strings = new ReadOnlyMemory<byte>[info.ElementCount];
            for (var i = 0; i < strings.Length; i++)
            {
                strings[i] = value.GetStringElementAsSpan(i).ToArray();
            }

            return Tensor.FromStrings(strings, shape);
        }

        if (type == TensorType.Null)
        {
            throw new NotSupportedException($"output element type {info.ElementDataType} has no GraphPipe equivalent");
        }

        var raw = value.GetTensorMutableRawData();
        fixed (byte* pointer = raw)
        {
            // The OrtValue owns this memory; the stage result keeps it alive until the response is written.
            return Tensor.FromBytes(type, shape, new UnmanagedMemory(pointer, raw.Length).Memory);
        }
    }

    // Stryker disable once NullCoalescing : a tensor's shape is never a default ImmutableArray (every Tensor factory sets one), so AsArray never answers null
    private static long[] ImmutableCollectionsMarshalShape(ImmutableArray<long> shape)
        => System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsArray(shape) ?? [];

    private static IOMetadata Describe(string name, NodeMetadata node)
    {
        if (!node.IsTensor)
        {
            return new IOMetadata(name, TensorType.Null, [], $"non-tensor {node.OnnxValueType}");
        }

        // Stryker disable once Conditional : ONNX Runtime already reports a symbolic dimension as -1; the mapping guards against any other negative value
        var dims = node.Dimensions.Select(d => d < 0 ? -1L : d).ToImmutableArray();
        var type = OnnxTypes.ToGraphPipe(node.ElementDataType);
        var description = node.ElementDataType == TensorElementType.Bool ? "bool (sent as uint8)" : string.Empty;
        return new IOMetadata(name, type, dims, description);
    }

    // Stryker disable once all : frees native sessions; nothing a caller can observe
    public void Dispose()
    {
        // The threads first: a session is disposed only after its thread's last run.
        _threads?.Dispose();
        foreach (var session in _sessions)
        {
            session?.Dispose();
        }
    }
}
