using System.Net;
using System.Net.Http.Headers;
using System.Text;
using GraphPipe.Stages;
using GraphPipe.Wire;

namespace GraphPipe.FunctionalTests;

/// <summary>Timeouts applied to every await so that a hang fails the test instead of stalling the run.</summary>
internal static class Limits
{
    /// <summary>Upper bound for one awaited step (a request, a server start or stop).</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(30);
}

/// <summary>An HTTP exchange as the wire sees it: status, headers, and the body as text and bytes.</summary>
internal sealed record RawResponse(HttpStatusCode Status, string Text, byte[] Body, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders);

internal static class RawHttp
{
    /// <summary>Encodes an inference request into a detached byte array.</summary>
    public static byte[] Encode(InferRequest request) => new GraphPipeWriter().WriteInferRequest(request).ToArray();

    /// <summary>A request of one float32 [1, N] tensor.</summary>
    public static byte[] EncodeFloats(params float[] values) => Encode(new InferRequest { Inputs = [Tensor.Create(values, 1, values.Length)] });

    public static byte[] EncodeMetadataRequest() => new GraphPipeWriter().WriteMetadataRequest().ToArray();

    /// <summary>POSTs raw bytes and returns whatever comes back.</summary>
    /// <param name="timeout">How long the answer may take; <see cref="Limits.Step"/> unless the test queues more work than that behind it.</param>
    public static Task<RawResponse> PostAsync(HttpClient http, Uri uri, byte[] body, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return SendAsync(http, new HttpRequestMessage(HttpMethod.Post, uri) { Content = content }, cancellationToken, timeout);
    }

    public static async Task<RawResponse> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using (request)
        {
            var limit = timeout ?? Limits.Step;
            using var response = await http.SendAsync(request, cancellationToken).WaitAsync(limit, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).WaitAsync(limit, cancellationToken);
            return new RawResponse(response.StatusCode, Encoding.UTF8.GetString(body), body, response.Headers, response.Content.Headers);
        }
    }
}

/// <summary>A stage whose behaviour is a delegate; metadata describes one float32 input "in" and one output "out".</summary>
internal sealed class DelegateStage(string name, Func<StageRequest, CancellationToken, ValueTask<StageResult>> infer) : IInferenceStage
{
    public StageMetadata Metadata { get; } = new()
    {
        Name = name,
        Version = "1",
        Description = "test stage",
        Inputs = [new IOMetadata("in", TensorType.Float32, [-1, -1, -1, -1])],
        Outputs = [new IOMetadata("out", TensorType.Float32, [-1, -1, -1, -1])],
    };

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken) => infer(request, cancellationToken);

    /// <summary>Returns the input as every requested output, byte for byte.</summary>
    public static DelegateStage Identity(string name = "identity")
        => new(name, static (request, _) => ValueTask.FromResult(Echo(request)));

    /// <summary>Multiplies its first input's float32 values by <paramref name="factor"/> (shape kept); <paramref name="called"/> counts the runs.</summary>
    public static DelegateStage Times(string name, float factor, Action? called = null) => new(name, (request, _) =>
    {
        called?.Invoke();
        return ValueTask.FromResult(StageResult.Success([Tensor.Create(request.Inputs[0].ToArray<float>().Select(v => v * factor).ToArray(), request.Inputs[0].Shape.ToArray())]));
    });

    public static StageResult Echo(StageRequest request)
        => StageResult.Success(request.OutputNames.Select(_ => request.Inputs[0]).ToArray());
}

/// <summary>A read-only stream that cannot seek, so HttpClient sends it with chunked transfer encoding (no Content-Length).</summary>
internal sealed class NonSeekableStream(byte[] data) : Stream
{
    private readonly MemoryStream _inner = new(data, writable: false);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Hand-built flatbuffers for requests the library's writer refuses to produce.</summary>
internal static class RawRequests
{
    /// <summary>A <c>Request</c> table with no fields at all: req_type NONE, no req.</summary>
    public static byte[] EmptyRequest()
    {
        var b = new Google.FlatBuffers.FlatBufferBuilder(64);
        b.StartTable(2);
        b.Finish(b.EndTable());
        return b.SizedByteArray();
    }

    /// <summary>An InferRequest with one tensor whose type, shape and data are taken as given, unchecked.</summary>
    public static byte[] InferWithRawTensor(string inputName, byte type, long[] shape, byte[] data)
    {
        var b = new Google.FlatBuffers.FlatBufferBuilder(1024 + data.Length);
        b.StartVector(1, data.Length, 1);
        for (var i = data.Length - 1; i >= 0; i--) b.AddByte(data[i]);
        var dataVector = b.EndVector();
        b.StartVector(8, shape.Length, 8);
        for (var i = shape.Length - 1; i >= 0; i--) b.AddLong(shape[i]);
        var shapeVector = b.EndVector();
        b.StartTable(4);
        b.AddOffset(2, dataVector.Value, 0);
        b.AddOffset(1, shapeVector.Value, 0);
        b.AddByte(0, type, 0);
        var tensor = b.EndTable();
        b.StartVector(4, 1, 4);
        b.AddOffset(tensor);
        var tensors = b.EndVector();
        var name = b.CreateString(inputName);
        b.StartVector(4, 1, 4);
        b.AddOffset(name.Value);
        var names = b.EndVector();
        b.StartTable(4);
        b.AddOffset(2, tensors.Value, 0);
        b.AddOffset(1, names.Value, 0);
        var infer = b.EndTable();
        b.StartTable(2);
        b.AddOffset(1, infer, 0);
        b.AddByte(0, (byte)RequestKind.Infer, 0);
        b.Finish(b.EndTable());
        return b.SizedByteArray();
    }
}

/// <summary>Loopback ports for servers a test starts itself (Prometheus, nginx) or for a port nobody listens on.</summary>
internal static class LoopbackPorts
{
    /// <summary>A port free at the time of the call (the OS picked it for a listener that is closed again).</summary>
    public static int Free()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
