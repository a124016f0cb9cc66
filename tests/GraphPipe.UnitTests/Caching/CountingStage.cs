using GraphPipe.Stages;

namespace GraphPipe.UnitTests;

/// <summary>
/// A stage that counts its runs and answers the input plus one in a buffer of its own, which it overwrites
/// when the result is disposed (as a pooled buffer would be reused), so a cache that kept a view of it would show.
/// </summary>
internal sealed class CountingStage(string name = "counting") : IInferenceStage
{
    private int _runs;

    public int Runs => Volatile.Read(ref _runs);

    public bool Fail { get; set; }

    public StageMetadata Metadata { get; } = new()
    {
        Name = name,
        Version = "1",
        Inputs = [new IOMetadata("x", TensorType.Float32, [-1])],
        Outputs = [new IOMetadata("y", TensorType.Float32, [-1]), new IOMetadata("words", TensorType.String, [-1])],
    };

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        if (Fail)
        {
            return ValueTask.FromResult(StageResult.Failure(StageErrorKind.InvalidInput, "told to fail"));
        }

        var input = request.Inputs[0].ToArray<float>();
        var buffer = new float[input.Length];
        for (var i = 0; i < input.Length; i++) buffer[i] = input[i] + 1;
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan()).ToArray();
        var outputs = request.OutputNames.Select(n => n == "words"
            ? Tensor.FromStrings(Enumerable.Range(0, buffer.Length).Select(i => $"w{buffer[i]}").ToArray())
            : Tensor.FromBytes(TensorType.Float32, [buffer.Length], bytes)).ToArray();
        return ValueTask.FromResult(StageResult.Success(outputs, new Scribble(bytes)));
    }

    private sealed class Scribble(byte[] bytes) : IDisposable
    {
        public void Dispose() => bytes.AsSpan().Fill(0xEE);
    }
}
