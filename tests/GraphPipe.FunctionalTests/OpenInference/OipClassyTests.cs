using System.Text;
using System.Text.Json;
using Classy;
using Google.Protobuf;
using GraphPipe.Imaging;
using GraphPipe.Server.OpenInference;
using GraphPipe.Server.OpenInference.Grpc;
using GraphPipe.Stages;
using Grpc.Net.Client;
using SkiaSharp;

namespace GraphPipe.FunctionalTests.OpenInference;

/// <summary>
/// Classy (downloader -> preprocessor -> model, each on its own host) called from an OIP client over
/// REST and gRPC, in server and hybrid sequencing, gives the labels and scores the GraphPipe door gives.
/// </summary>
public sealed class OipClassyTests : IAsyncLifetime
{
    private static readonly SKColor[] Colours = [new(230, 20, 20), new(20, 200, 40), new(10, 30, 240)];

    private DirectoryInfo _dir = null!;
    private ClassyStack _stack = null!;
    private LocalImageServer _web = null!;
    private string[] _files = null!;
    private string[] _urls = null!;
    private readonly HttpClient _http = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("oip-classy-");
        _files = Colours.Select((c, i) => WriteJpeg(Path.Combine(_dir.FullName, $"{i}.jpg"), c)).ToArray();
        var labelsPath = Path.Combine(_dir.FullName, "labels.txt");
        await File.WriteAllLinesAsync(labelsPath, Enumerable.Range(0, 1000).Select(j => $"class-{j}"), Ct);
        _stack = await ClassyStack.StartAsync(new ClassyStackOptions
        {
            ModelPath = TestModels.Path("vgg_like.onnx"),
            LabelsPath = labelsPath,
            Profile = PreprocessProfile.Get("vgg"),
            TopK = 3,
            ConfigureServing = serving => serving.AddOpenInference(o => o.GrpcListen = "127.0.0.1:0"),
        }, Ct).WaitAsync(Limits.Step, Ct);
        _web = await LocalImageServer.StartAsync(_dir.FullName, cancellationToken: Ct);
        _urls = _files.Select(f => _web.UrlOf(f).ToString()).ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _web.DisposeAsync();
        await _stack.DisposeAsync();
        _dir.Delete(recursive: true);
    }

    [Fact]
    public async Task Rest_UrlsThroughServerAndHybridSequencing_GiveTheGraphPipeLabels()
    {
        var expected = await GraphPipeAsync(_urls);
        var e = _stack.Endpoints;

        var server = await RestAsync(e.ChainedDownloader, "download", Json(_urls, next: null));
        var hybrid = await RestAsync(e.Downloader, "download", Json(_urls, next: $"{e.Preprocessor} {e.Model}"));

        Assert.Equal(expected, server);
        Assert.Equal(expected, hybrid);
    }

    [Fact]
    public async Task Rest_JpegBytesAsBinaryBytesTensor_GiveTheGraphPipeLabels()
    {
        var expected = await GraphPipeAsync(_files);
        var jpegs = _files.Select(File.ReadAllBytes).ToArray();
        var raw = jpegs.SelectMany(j => BitConverter.GetBytes(j.Length).Concat(j)).ToArray();
        var json = $$"""{"inputs":[{"name":"images","shape":[{{jpegs.Length}}],"datatype":"BYTES","parameters":{"binary_data_size":{{raw.Length}} } }],"outputs":[{"name":"top_labels"},{"name":"top_scores","parameters":{"binary_data":true} }]}""";

        var response = await OipHost.PostBinaryAsync(_http, new Uri(_stack.Endpoints.ChainedPreprocessor, "v2/models/preprocess/infer"), json, [raw], Ct);

        Assert.True(response.Status == System.Net.HttpStatusCode.OK, response.Text);
        var (header, binary) = OipHost.SplitBinary(response);
        var outputs = header.GetProperty("outputs").EnumerateArray().ToArray();
        var labels = outputs[0].GetProperty("data").EnumerateArray().Select(l => l.GetString()!).ToArray();
        var scores = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(binary).ToArray();
        Assert.Equal(expected, Top1(labels, scores));
    }

    [Fact]
    public async Task Grpc_UrlsAndJpegBytesThroughServerAndHybridSequencing_GiveTheGraphPipeLabels()
    {
        var fromUrls = await GraphPipeAsync(_urls);
        var fromFiles = await GraphPipeAsync(_files);
        var e = _stack.Endpoints;
        var jpegs = _files.Select(f => ByteString.CopyFrom(File.ReadAllBytes(f))).ToArray();

        var server = await GrpcAsync(e.ChainedDownloader, "download", _urls.Select(ByteString.CopyFromUtf8).ToArray(), next: null);
        var hybrid = await GrpcAsync(e.Preprocessor, "preprocess", jpegs, next: e.Model.ToString());

        Assert.Equal(fromUrls, server);
        Assert.Equal(fromFiles, hybrid);
    }

    private async Task<(string, float)[]> GraphPipeAsync(string[] images)
    {
        using var client = new ClassyClient(_stack.Endpoints, timeout: Limits.Step) { BatchSize = images.Length };
        var (results, _) = await client.ClassifyAsync(images, Sequencing.Server, cancellationToken: Ct);
        Assert.All(results, r => Assert.True(r.Succeeded, r.Error));
        return results.Select(r => (r.Label!, r.Score)).ToArray();
    }

    private static string Json(string[] urls, string? next)
        => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["parameters"] = next is null ? new Dictionary<string, object>() : new Dictionary<string, object> { ["graphpipe_next"] = next },
            ["inputs"] = new[] { new Dictionary<string, object> { ["name"] = "urls", ["shape"] = new[] { urls.Length }, ["datatype"] = "BYTES", ["data"] = urls } },
            ["outputs"] = new[] { new Dictionary<string, object> { ["name"] = "top_labels" }, new Dictionary<string, object> { ["name"] = "top_scores" } },
        });

    private async Task<(string, float)[]> RestAsync(Uri host, string model, string json)
    {
        var response = await OipHost.PostJsonAsync(_http, new Uri(host, $"v2/models/{model}/infer"), json, Ct);
        Assert.True(response.Status == System.Net.HttpStatusCode.OK, response.Text);
        var outputs = JsonDocument.Parse(response.Body).RootElement.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(["top_labels", "top_scores"], outputs.Select(o => o.GetProperty("name").GetString()));
        Assert.Equal("BYTES", outputs[0].GetProperty("datatype").GetString());
        return Top1(outputs[0].GetProperty("data").EnumerateArray().Select(l => l.GetString()!).ToArray(),
            outputs[1].GetProperty("data").EnumerateArray().Select(s => s.GetSingle()).ToArray());
    }

    private async Task<(string, float)[]> GrpcAsync(Uri host, string model, ByteString[] elements, string? next)
    {
        using var channel = GrpcChannel.ForAddress(_stack.ServicesOf(host).GetOpenInferenceGrpcAddress()!);
        var input = new ModelInferRequest.Types.InferInputTensor { Name = model == "download" ? "urls" : "images", Datatype = "BYTES", Shape = { elements.Length }, Contents = new InferTensorContents() };
        input.Contents.BytesContents.AddRange(elements);
        var request = new ModelInferRequest { ModelName = model, Inputs = { input }, Outputs = { new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "top_labels" }, new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "top_scores" } } };
        if (next is not null)
        {
            request.Parameters["graphpipe_next"] = new InferParameter { StringParam = next };
        }

        var response = await new GRPCInferenceService.GRPCInferenceServiceClient(channel).ModelInferAsync(request, deadline: DateTime.UtcNow + Limits.Step, cancellationToken: Ct);
        Assert.Equal(["top_labels", "top_scores"], response.Outputs.Select(o => o.Name));
        return Top1(response.Outputs[0].Contents.BytesContents.Select(b => b.ToStringUtf8()).ToArray(), [.. response.Outputs[1].Contents.Fp32Contents]);
    }

    /// <summary>Top-1 of each image from top-3 rows.</summary>
    private static (string, float)[] Top1(string[] labels, float[] scores)
        => Enumerable.Range(0, labels.Length / 3).Select(i => (labels[i * 3], scores[i * 3])).ToArray();

    private static string WriteJpeg(string path, SKColor color)
    {
        using var bitmap = new SKBitmap(300, 200);
        bitmap.Erase(color);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 95);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    private static string Utf8(byte[] b) => Encoding.UTF8.GetString(b);
}
