using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using GraphPipe.Server.OpenInference.Grpc;
using Grpc.Net.Client;

namespace GraphPipe.BenchSuite;

/// <summary>
/// The Open Inference Protocol clients of the protocols rows, written as a careful client would: REST JSON
/// with <see cref="Utf8JsonWriter"/>/<see cref="Utf8JsonReader"/> (encode and parse each time, as
/// GraphPipeClient does), REST binary sending the tensor's own bytes after a small JSON header, gRPC with
/// <c>raw_input_contents</c> wrapping the tensor's bytes (no copy), once with the generated client and once
/// with the door's own marshallers on the client side (the raw contents written from, and read into, buffers
/// the message does not own).
/// </summary>
internal sealed class OipClients : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    private readonly HttpClient _http;
    private readonly Uri _infer;
    private readonly string _model;
    private readonly string _inputName;
    private readonly string? _outputName;
    private readonly Tensor _tensor;
    private readonly float[] _floats;
    private readonly byte[] _binaryHeader;
    private readonly GrpcChannel _channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient _grpc;
    private readonly ModelInferRequest _grpcRequest;
    private readonly RawMessage<ModelInferRequest> _rawRequest;
    private readonly CallInvoker _invoker;

    public OipClients(HttpClient http, Uri restBase, Uri grpcAddress, string model, string inputName, string? outputName, Tensor tensor)
    {
        _http = http;
        _infer = new Uri(restBase, $"v2/models/{model}/infer");
        _model = model;
        _inputName = inputName;
        _outputName = outputName;
        _tensor = tensor;
        _floats = tensor.ToArray<float>();
        var outputs = outputName is null ? string.Empty : $",\"outputs\":[{{\"name\":\"{outputName}\",\"parameters\":{{\"binary_data\":true}}}}]";
        _binaryHeader = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"inputs\":[{{\"name\":\"{inputName}\",\"shape\":[{string.Join(',', tensor.Shape)}],\"datatype\":\"FP32\",\"parameters\":{{\"binary_data_size\":{tensor.Data.Length}}}}}]{outputs},\"parameters\":{{\"binary_data_output\":true}}}}"));
        // A large first stream window, as for any client that sends 600 KB messages over HTTP/2.
        _channel = GrpcChannel.ForAddress(grpcAddress, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            HttpHandler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 1 << 20, EnableMultipleHttp2Connections = true, UseProxy = false },
        });
        _grpc = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        _invoker = _channel.CreateCallInvoker();
        var input = new ModelInferRequest.Types.InferInputTensor { Name = inputName, Datatype = "FP32" };
        input.Shape.AddRange(tensor.Shape);
        _grpcRequest = new ModelInferRequest { ModelName = model, Inputs = { input } };
        if (outputName is not null)
        {
            _grpcRequest.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = outputName });
        }

        _rawRequest = new RawMessage<ModelInferRequest>(_grpcRequest.Clone(), [tensor.Data]);
        _grpcRequest.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(tensor.Data));
    }

    /// <summary>REST with the tensor as JSON numbers both ways; the response's first output parsed back to float[].</summary>
    public async ValueTask JsonAsync(int worker, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>(_floats.Length * 12 + 256);
        OipJson.WriteInferRequest(body, _inputName, _tensor.Shape.AsSpan(), _floats, _outputName);
        using var content = new ReadOnlyMemoryContent(body.WrittenMemory);
        content.Headers.ContentType = Json;
        using var message = new HttpRequestMessage(HttpMethod.Post, _infer) { Content = content };
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var bytes = await ReadAllAsync(response, cancellationToken).ConfigureAwait(false);
        if (OipJson.ReadFirstOutput(bytes).Data.Length == 0) throw new InvalidDataException("no output data");
    }

    /// <summary>REST with Triton's binary tensor data extension both ways.</summary>
    public async ValueTask BinaryAsync(int worker, CancellationToken cancellationToken)
    {
        using var content = new HeaderThenData(_binaryHeader, _tensor.Data);
        content.Headers.ContentType = OctetStream;
        content.Headers.Add("Inference-Header-Content-Length", _binaryHeader.Length.ToString(CultureInfo.InvariantCulture));
        using var message = new HttpRequestMessage(HttpMethod.Post, _infer) { Content = content };
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var bytes = await ReadAllAsync(response, cancellationToken).ConfigureAwait(false);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").First(), CultureInfo.InvariantCulture);
        var size = BinarySize(bytes.AsSpan(0, headerLength));
        if (headerLength + size != bytes.Length) throw new InvalidDataException("binary output size mismatch");
    }

    /// <summary>gRPC ModelInfer with raw contents both ways.</summary>
    public async ValueTask GrpcAsync(int worker, CancellationToken cancellationToken)
    {
        var response = await _grpc.ModelInferAsync(_grpcRequest, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.RawOutputContents.Count == 0 || response.RawOutputContents[0].Length == 0) throw new InvalidDataException($"{_model}: no raw output");
    }

    /// <summary>
    /// gRPC ModelInfer, same bytes on the wire, with the door's marshallers: the generated client copies each
    /// response's raw output into a fresh array (a large-object allocation per 602 KB call, and the gen-2
    /// collections that follow); these read it into one pooled buffer, returned when the response is disposed.
    /// </summary>
    public async ValueTask GrpcPooledAsync(int worker, CancellationToken cancellationToken)
    {
        using var response = await _invoker.AsyncUnaryCall(InferenceServiceBinder.ModelInfer, null, new CallOptions(cancellationToken: cancellationToken), _rawRequest).ConfigureAwait(false);
        if (response.Raw.Count == 0 || response.Raw[0].Length == 0) throw new InvalidDataException($"{_model}: no raw output");
    }

    public void Dispose() => _channel.Dispose();

    private static async Task<byte[]> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"OIP answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}", null, response.StatusCode);
        }

        // Into one array of the Content-Length, as GraphPipeClient reads (ReadAsByteArrayAsync would buffer and copy).
        var length = response.Content.Headers.ContentLength ?? throw new HttpRequestException("OIP answer without Content-Length");
        var buffer = new byte[length];
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer;
    }

    /// <summary>The first <c>binary_data_size</c> in a response header.</summary>
    private static long BinarySize(ReadOnlySpan<byte> header)
    {
        var reader = new Utf8JsonReader(header);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("binary_data_size"u8) && reader.Read())
            {
                return reader.GetInt64();
            }
        }

        throw new InvalidDataException("no binary_data_size in the response header");
    }

    /// <summary>A request body of two parts written one after the other: no concatenated copy of the tensor.</summary>
    private sealed class HeaderThenData(byte[] header, ReadOnlyMemory<byte> data) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(header).ConfigureAwait(false);
            await stream.WriteAsync(data).ConfigureAwait(false);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
            => SerializeAsync(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = header.Length + data.Length;
            return true;
        }

        private async Task SerializeAsync(Stream stream, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
    }
}
