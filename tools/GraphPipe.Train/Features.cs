using System.Buffers.Binary;
using System.Diagnostics;
using GraphPipe.Models;
using Microsoft.ML.OnnxRuntime;

namespace GraphPipe.Train;

/// <summary>Runs an assembled model (backbone or classifier) on Fashion-MNIST images with ONNX Runtime.</summary>
internal sealed class ModelRunner : IDisposable
{
    private readonly InferenceSession _session;

    public ModelRunner(string modelPath, int intraOpThreads = 0)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (intraOpThreads > 0) options.IntraOpNumThreads = intraOpThreads;
        _session = new InferenceSession(modelPath, options);
    }

    /// <summary>Runs images <paramref name="indices"/> through the model; returns each requested output as [count, width] rows.</summary>
    public Dictionary<string, float[]> Run(IdxImages images, IReadOnlyList<int> indices, int batchSize, string[] outputs, Action<int>? progress = null, CancellationToken ct = default)
    {
        var per = 3 * DemoModel.ImageSize * DemoModel.ImageSize;
        var result = outputs.ToDictionary(o => o, _ => new List<float>(), StringComparer.Ordinal);
        var input = new float[batchSize * per];
        using var runOptions = new RunOptions();
        for (var start = 0; start < indices.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            var n = Math.Min(batchSize, indices.Count - start);
            Parallel.For(0, n, i => FashionMnist.ToModelInput(images.Image(indices[start + i]), images.Columns, images.Rows, input.AsSpan(i * per, per)));
            using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, n * per), [n, 3, DemoModel.ImageSize, DemoModel.ImageSize]);
            using var results = _session.Run(runOptions, [DemoModel.InputName], [value], outputs);
            for (var o = 0; o < outputs.Length; o++)
            {
                result[outputs[o]].AddRange(results[o].GetTensorDataAsSpan<float>());
            }

            progress?.Invoke(start + n);
        }

        return result.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
    }

    public void Dispose() => _session.Dispose();
}

/// <summary>A cache of extracted features: magic "GPFT", int32 count, int32 dim, float32 features[count*dim], int32 labels[count], int32 indices[count].</summary>
internal static class FeatureCache
{
    public static (float[] Features, int[] Labels, int[] Indices)? TryRead(string path, int dim)
    {
        if (!File.Exists(path)) return null;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 12 || !bytes.AsSpan(0, 4).SequenceEqual("GPFT"u8)) return null;
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)) != dim || bytes.Length != 12 + (4L * count * (dim + 2))) return null;
        var features = new float[count * dim];
        var labels = new int[count];
        var indices = new int[count];
        var offset = 12;
        for (var i = 0; i < features.Length; i++, offset += 4) features[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(offset));
        for (var i = 0; i < count; i++, offset += 4) labels[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));
        for (var i = 0; i < count; i++, offset += 4) indices[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(offset));
        return (features, labels, indices);
    }

    public static void Write(string path, float[] features, int[] labels, int[] indices, int dim)
    {
        var bytes = new byte[12 + (4L * labels.Length * (dim + 2))];
        "GPFT"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), labels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), dim);
        var offset = 12;
        foreach (var v in features) { BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset), v); offset += 4; }
        foreach (var v in labels) { BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), v); offset += 4; }
        foreach (var v in indices) { BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), v); offset += 4; }
        var temp = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Progress lines at most every few seconds.</summary>
internal sealed class Progress(string what, int total)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _last;

    public void Report(int done)
    {
        if (done < total && _clock.Elapsed - _last < TimeSpan.FromSeconds(10)) return;
        _last = _clock.Elapsed;
        var rate = done / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
        Console.Out.WriteLine($"  {what}: {done}/{total} images, {_clock.Elapsed.TotalSeconds:F0}s, {rate:F1} images/s");
    }
}
