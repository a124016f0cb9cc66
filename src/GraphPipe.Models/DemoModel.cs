using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using GraphPipe.Models.OnnxProto;

namespace GraphPipe.Models;

/// <summary>The files of an assembled demo model: the ONNX model and its labels (one per line, class-index order).</summary>
public sealed record DemoModelFiles(string ModelPath, string LabelsPath);

/// <summary>
/// The bundled demo classifier <c>classy-resnet18-fashion</c>: ML.NET's ImageNet ResNet18 feature
/// extractor (NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>, MIT) followed by a softmax head
/// trained on Fashion-MNIST (<c>tools/GraphPipe.Train</c>). The two NuGet ONNX graphs and the head are
/// merged into one ONNX model with a dynamic batch dimension, written once into a cache directory.
/// </summary>
/// <remarks>
/// Model: input <c>image</c> float32 [N,3,224,224] (RGB, 0..255) → ResNetPreprocess (RGB→BGR, minus the
/// ImageNet mean image) → ResNet18 → Flatten → Gemm(W [512,10], b [10]) → Softmax; outputs
/// <c>probs</c> float32 [N,10] and <c>features</c> float32 [N,512].
/// </remarks>
public static class DemoModel
{
    public const string ModelName = "classy-resnet18-fashion";
    public const string BackboneModelName = "resnet18-imagenet-features";
    public const string InputName = "image";
    public const string ProbsOutput = "probs";
    public const string FeaturesOutput = "features";
    public const int ImageSize = 224;
    public const int FeatureCount = 512;

    /// <summary>Environment variable naming the cache directory (default <c>~/.cache/graphpipe/models</c>).</summary>
    public const string CacheDirectoryVariable = "GP_CACHE_DIR";

    /// <summary>Where the build puts the NuGet ONNX files, relative to the application's directory.</summary>
    public const string SourceSubdirectory = "models/resnet18";
    public const string PreprocessFileName = "ResNetPreprocess.onnx";
    public const string BackboneFileName = "ResNet18.onnx";

    private const string HeadResource = "GraphPipe.Models.fashion-head.bin";
    private const string LabelsResource = "GraphPipe.Models.fashion-mnist.labels";
    private const string BatchDim = "N";

    /// <summary>Bump when the assembled graph changes shape, so cached files are rebuilt.</summary>
    private const string AssemblerVersion = "1";

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <summary><c>$GP_CACHE_DIR</c>, else <c>~/.cache/graphpipe/models</c>.</summary>
    public static string DefaultCacheDirectory
        => Environment.GetEnvironmentVariable(CacheDirectoryVariable) is { Length: > 0 } dir
            ? Path.GetFullPath(dir)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "graphpipe", "models");

    /// <summary>The directory holding ResNetPreprocess.onnx and ResNet18.onnx: models/resnet18 next to this assembly.</summary>
    public static string SourceDirectory
    {
        get
        {
            var location = typeof(DemoModel).Assembly.Location;
            var baseDir = string.IsNullOrEmpty(location) ? AppContext.BaseDirectory : Path.GetDirectoryName(location)!;
            return Path.Combine(baseDir, SourceSubdirectory);
        }
    }

    /// <summary>The class labels of the demo head, in class-index order.</summary>
    public static IReadOnlyList<string> Labels => Encoding.UTF8.GetString(LabelsBytes())
        .Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether this build embeds a trained head (false only before the first <c>GraphPipe.Train train</c>).</summary>
    public static bool HasHead => typeof(DemoModel).Assembly.GetManifestResourceInfo(HeadResource) is not null;

    /// <summary>The embedded trained head.</summary>
    public static DemoModelHead Head => DemoModelHead.FromBytes(HeadBytes());

    /// <summary>
    /// Assembles the demo classifier into <paramref name="cacheDirectory"/> (default
    /// <see cref="DefaultCacheDirectory"/>) unless it is already there, and returns its files.
    /// The file names carry a hash of the head, the labels and the sources, so a new head re-assembles.
    /// </summary>
    public static async Task<DemoModelFiles> EnsureAsync(string? cacheDirectory = null, CancellationToken cancellationToken = default)
    {
        var dir = PrepareDirectory(cacheDirectory);
        var head = HeadBytes();
        var labels = LabelsBytes();
        var sources = SourcePaths();
        var key = Key("classifier", head, labels, sources);
        var modelPath = Path.Combine(dir, $"{ModelName}-{key}.onnx");
        var labelsPath = Path.Combine(dir, $"{ModelName}-{key}.labels");
        var gate = Gates.GetOrAdd(modelPath, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(labelsPath))
            {
                await WriteAtomicAsync(labelsPath, stream => stream.Write(labels), cancellationToken).ConfigureAwait(false);
            }

            if (!File.Exists(modelPath))
            {
                var parsedHead = DemoModelHead.FromBytes(head);
                var labelCount = Encoding.UTF8.GetString(labels).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Length;
                if (parsedHead.Classes != labelCount || parsedHead.Features != FeatureCount)
                {
                    throw new InvalidDataException($"embedded head is {parsedHead.Features}x{parsedHead.Classes} but the model needs {FeatureCount} features and {labelCount} classes (labels)");
                }

                var model = await Task.Run(() => Assemble(sources, parsedHead), cancellationToken).ConfigureAwait(false);
                await WriteAtomicAsync(modelPath, model.WriteTo, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }

        return new DemoModelFiles(modelPath, labelsPath);
    }

    /// <summary>
    /// Assembles the backbone alone (input <c>image</c> [N,3,224,224] → output <c>features</c> [N,512]),
    /// what the head is trained on, and returns its path. Needs no trained head.
    /// </summary>
    public static async Task<string> EnsureBackboneAsync(string? cacheDirectory = null, CancellationToken cancellationToken = default)
    {
        var dir = PrepareDirectory(cacheDirectory);
        var sources = SourcePaths();
        var key = Key("backbone", [], [], sources);
        var modelPath = Path.Combine(dir, $"{BackboneModelName}-{key}.onnx");
        var gate = Gates.GetOrAdd(modelPath, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(modelPath))
            {
                var model = await Task.Run(() => Assemble(sources, head: null), cancellationToken).ConfigureAwait(false);
                await WriteAtomicAsync(modelPath, model.WriteTo, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }

        return modelPath;
    }

    private static string PrepareDirectory(string? cacheDirectory)
    {
        var dir = Path.GetFullPath(string.IsNullOrWhiteSpace(cacheDirectory) ? DefaultCacheDirectory : cacheDirectory);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static (string Preprocess, string Backbone) SourcePaths()
    {
        var dir = SourceDirectory;
        var preprocess = Path.Combine(dir, PreprocessFileName);
        var backbone = Path.Combine(dir, BackboneFileName);
        foreach (var path in new[] { preprocess, backbone })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException(
                    $"demo model source '{path}' is missing: the build copies it from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 " +
                    "into models/resnet18/ of every project that references GraphPipe.Models (rebuild, or copy the package's tools/DnnImageModels files there)", path);
            }
        }

        return (preprocess, backbone);
    }

    private static string Key(string kind, byte[] head, byte[] labels, (string Preprocess, string Backbone) sources)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{kind}|{AssemblerVersion}|{new FileInfo(sources.Preprocess).Length}|{new FileInfo(sources.Backbone).Length}|"));
        hash.AppendData(head);
        hash.AppendData("|"u8);
        hash.AppendData(labels);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private static byte[] HeadBytes()
        => ReadResource(HeadResource) ?? throw new InvalidOperationException(
            "this build of GraphPipe.Models has no trained head (fashion-head.bin): run 'dotnet run --project tools/GraphPipe.Train -- train' and rebuild");

    private static byte[] LabelsBytes()
        => ReadResource(LabelsResource) ?? throw new InvalidOperationException($"embedded resource {LabelsResource} is missing");

    private static byte[]? ReadResource(string name)
    {
        using var stream = typeof(DemoModel).Assembly.GetManifestResourceStream(name);
        if (stream is null) return null;
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static async Task WriteAtomicAsync(string path, Action<Stream> write, CancellationToken cancellationToken)
    {
        var dir = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.None))
            {
                write(stream);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Merges ResNetPreprocess + ResNet18 (+ the head when given) into one model with batch dimension N.</summary>
    internal static ModelProto Assemble((string Preprocess, string Backbone) sources, DemoModelHead? head)
    {
        var prep = Load(sources.Preprocess);
        var backbone = Load(sources.Backbone);
        var graph = new GraphProto { Name = head is null ? BackboneModelName : ModelName };

        var prepInput = DataInput(prep.Graph, sources.Preprocess);
        var prepOutput = SingleOutput(prep.Graph, sources.Preprocess);
        var preprocessed = Append(graph, prep.Graph, "prep/", new Dictionary<string, string>(StringComparer.Ordinal) { [prepInput.Name] = InputName });

        var backboneInput = DataInput(backbone.Graph, sources.Backbone);
        var backboneOutput = SingleOutput(backbone.Graph, sources.Backbone);
        var pooled = Append(graph, backbone.Graph, "resnet18/", new Dictionary<string, string>(StringComparer.Ordinal) { [backboneInput.Name] = preprocessed(prepOutput.Name) });

        // The two sub-model boundaries become intermediate values with a dynamic batch.
        graph.ValueInfo.Add(Renamed(prepOutput, preprocessed(prepOutput.Name)));
        graph.ValueInfo.Add(Renamed(backboneOutput, pooled(backboneOutput.Name)));

        graph.Node.Add(Node("Flatten", "head/flatten", [pooled(backboneOutput.Name)], [FeaturesOutput], Int("axis", 1)));
        graph.Input.Add(Tensor(InputName, [-1, 3, ImageSize, ImageSize]));
        if (head is not null)
        {
            graph.Initializer.Add(Initializer("head/W", [head.Features, head.Classes], head.Weights));
            graph.Initializer.Add(Initializer("head/b", [head.Classes], head.Bias));
            graph.Node.Add(Node("Gemm", "head/gemm", [FeaturesOutput, "head/W", "head/b"], ["head/logits"]));
            graph.Node.Add(Node("Softmax", "head/softmax", ["head/logits"], [ProbsOutput], Int("axis", 1)));
            graph.ValueInfo.Add(Tensor("head/logits", [-1, head.Classes]));
            graph.Output.Add(Tensor(ProbsOutput, [-1, head.Classes]));
        }

        graph.Output.Add(Tensor(FeaturesOutput, [-1, FeatureCount]));

        var model = new ModelProto
        {
            IrVersion = Math.Max(4, Math.Max(prep.IrVersion, backbone.IrVersion)),
            ProducerName = "GraphPipe.Models",
            ProducerVersion = typeof(DemoModel).Assembly.GetName().Version?.ToString() ?? "0",
            ModelVersion = 1,
            DocString = head is null
                ? "ResNet18 (ImageNet, ML.NET Microsoft.ML.DnnImageFeaturizer.ResNet18) feature extractor: image [N,3,224,224] RGB 0..255 -> features [N,512]"
                : "GraphPipe demo classifier: ResNet18 (ImageNet, ML.NET Microsoft.ML.DnnImageFeaturizer.ResNet18) + softmax head trained on Fashion-MNIST; image [N,3,224,224] RGB 0..255 -> probs [N,10], features [N,512]",
            Graph = graph,
        };
        var opset = prep.OpsetImport.Concat(backbone.OpsetImport)
            .Where(o => o.Domain is "" or "ai.onnx")
            .Select(o => o.Version)
            .DefaultIfEmpty(8)
            .Max();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Math.Max(opset, 8) });
        foreach (var other in prep.OpsetImport.Concat(backbone.OpsetImport).Where(o => o.Domain is not ("" or "ai.onnx")).GroupBy(o => o.Domain))
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = other.Key, Version = other.Max(o => o.Version) });
        }

        model.MetadataProps.Add(new StringStringEntryProto { Key = "graphpipe.source", Value = "Microsoft.ML.DnnImageFeaturizer.ResNet18 (MIT) ResNetPreprocess.onnx + ResNet18.onnx" });
        if (head is not null)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = "graphpipe.labels", Value = string.Join('\n', Labels) });
        }

        return model;
    }

    private static ModelProto Load(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var model = ModelProto.Parser.ParseFrom(stream);
        if (model.Graph is null) throw new InvalidDataException($"'{path}' holds no graph");
        return model;
    }

    private static ValueInfoProto DataInput(GraphProto graph, string path)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        return inputs.Count == 1 ? inputs[0] : throw new InvalidDataException($"'{path}' has {inputs.Count} data inputs, expected 1");
    }

    private static ValueInfoProto SingleOutput(GraphProto graph, string path)
        => graph.Output.Count == 1 ? graph.Output[0] : throw new InvalidDataException($"'{path}' has {graph.Output.Count} outputs, expected 1");

    /// <summary>Copies <paramref name="source"/>'s nodes, initializers and value infos into <paramref name="target"/> with prefixed names; returns the renaming.</summary>
    private static Func<string, string> Append(GraphProto target, GraphProto source, string prefix, Dictionary<string, string> renames)
    {
        string Rename(string name) => name.Length == 0 ? name : renames.TryGetValue(name, out var mapped) ? mapped : prefix + name;

        var index = 0;
        foreach (var original in source.Node)
        {
            var node = original.Clone();
            node.Name = prefix + (node.Name.Length > 0 ? node.Name : $"{node.OpType}_{index}");
            index++;
            for (var i = 0; i < node.Input.Count; i++) node.Input[i] = Rename(node.Input[i]);
            for (var i = 0; i < node.Output.Count; i++) node.Output[i] = Rename(node.Output[i]);
            if (node.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
            {
                throw new InvalidDataException($"node '{original.Name}' has a subgraph attribute; merging those is not supported");
            }

            target.Node.Add(node);
        }

        var inputNames = source.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var tensor in source.Initializer)
        {
            var copy = tensor.Clone();
            copy.Name = Rename(copy.Name);
            target.Initializer.Add(copy);
        }

        foreach (var info in source.ValueInfo)
        {
            if (inputNames.Contains(info.Name) || renames.ContainsKey(info.Name)) continue;
            target.ValueInfo.Add(Renamed(info, Rename(info.Name)));
        }

        return Rename;
    }

    /// <summary>A copy of <paramref name="info"/> named <paramref name="name"/>, its batch dimension (a leading 1) made symbolic.</summary>
    private static ValueInfoProto Renamed(ValueInfoProto info, string name)
    {
        var copy = info.Clone();
        copy.Name = name;
        if (copy.Type?.TensorType?.Shape is { Dim.Count: > 0 } shape && shape.Dim[0].HasDimValue && shape.Dim[0].DimValue == 1)
        {
            shape.Dim[0].DimParam = BatchDim;
        }

        return copy;
    }

    private static ValueInfoProto Tensor(string name, long[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var d in shape)
        {
            tensorShape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = BatchDim } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = tensorShape } },
        };
    }

    private static TensorProto Initializer(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        tensor.RawData = ByteString.CopyFrom(raw);
        return tensor;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name, Domain = "" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Int(string name, long value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    internal static string Describe(ValueInfoProto info)
        => $"{info.Name} [{string.Join(',', info.Type.TensorType.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture) : d.DimParam))}]";
}
