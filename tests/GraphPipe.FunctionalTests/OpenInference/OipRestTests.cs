using System.Net;
using System.Text;
using System.Text.Json;
using GraphPipe.Server;

namespace GraphPipe.FunctionalTests.OpenInference;

/// <summary>One host with the OIP door over an echo stage (any type) and a float32 test stage, shared by the REST tests.</summary>
public sealed class OipHostFixture : IAsyncLifetime
{
    public GraphPipeStageHost Host { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    public async ValueTask InitializeAsync()
        => Host = await OipHost.StartAsync(s => s.AddStage("echo", new AnyEchoStage()).AddStage("identity", DelegateStage.Identity()),
            o => o.MaxRequestBytes = 1024 * 1024, TestContext.Current.CancellationToken).WaitAsync(Limits.Step);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }

    public Uri Url(string path) => new(Host.Address, path);
}

/// <summary>The Open Inference Protocol's REST API (KServe v2) on the serving host: endpoints, every datatype both ways, errors.</summary>
public sealed class OipRestTests(OipHostFixture fixture) : IClassFixture<OipHostFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Json(RawResponse response) => JsonDocument.Parse(response.Body).RootElement.Clone();

    private Task<RawResponse> GetAsync(string path) => RawHttp.SendAsync(fixture.Http, new HttpRequestMessage(HttpMethod.Get, fixture.Url(path)), Ct);

    [Fact]
    public async Task GetV2_ServerMetadata_NamesServerVersionAndBinaryExtension()
    {
        var response = await GetAsync("v2");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var json = Json(response);
        Assert.Equal("graphpipe-dotnet", json.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("version").GetString()));
        Assert.Contains("binary_tensor_data", json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("v2/health/live")]
    [InlineData("v2/health/ready")]
    public async Task GetHealth_LiveAndReady_AnswerOkFromTheHostsHealthChecks(string path)
    {
        var response = await GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("Healthy", Json(response).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("v2/models/identity")]
    [InlineData("v2/models/identity/versions/1")]
    public async Task GetModel_Metadata_GivesNameVersionsAndTensors(string path)
    {
        var response = await GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        var json = Json(response);
        Assert.Equal("identity", json.GetProperty("name").GetString());
        Assert.Equal(["1"], json.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        var input = Assert.Single(json.GetProperty("inputs").EnumerateArray());
        Assert.Equal("in", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, -1, -1, -1], input.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("out", Assert.Single(json.GetProperty("outputs").EnumerateArray()).GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("v2/models/identity/ready")]
    [InlineData("v2/models/identity/versions/1/ready")]
    public async Task GetModelReady_ServedModel_IsReady(string path)
    {
        var response = await GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.True(Json(response).GetProperty("ready").GetBoolean());
    }

    [Theory]
    [InlineData("v2/models/nope")]
    [InlineData("v2/models/nope/ready")]
    [InlineData("v2/models/identity/versions/7")]
    public async Task GetModel_UnknownModelOrVersion_404WithJsonError(string path)
    {
        var response = await GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.Equal("application/json", response.ContentHeaders.ContentType?.MediaType);
        var error = Json(response).GetProperty("error").GetString();
        Assert.Contains(path.Contains("nope", StringComparison.Ordinal) ? "model 'nope' is not served here; models: echo, identity" : "[identity] model 'identity' has no version '7'", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(OipSamples.EachWay), MemberType = typeof(OipSamples))]
    public async Task Infer_EachDatatype_RoundTripsAsJsonOrBinaryBothWays(string datatype, bool binaryIn, bool binaryOut)
    {
        var raw = OipSamples.Raw(datatype);
        var tensor = binaryIn
            ? $$"""{"name":"x","shape":[2,2],"datatype":"{{datatype}}","parameters":{"binary_data_size": {{raw.Length}} } }"""
            : $$"""{"name":"x","shape":[2,2],"datatype":"{{datatype}}","data": {{OipSamples.Json(datatype)}} }""";
        var json = $$"""{"id":"req-{{datatype}}","inputs":[ {{tensor}} ],"outputs":[{"name":"x","parameters":{"binary_data": {{(binaryOut ? "true" : "false")}} } }]}""";
        var url = fixture.Url("v2/models/echo/infer");

        var response = binaryIn
            ? await OipHost.PostBinaryAsync(fixture.Http, url, json, [raw], Ct)
            : await OipHost.PostJsonAsync(fixture.Http, url, json, Ct);

        Assert.True(response.Status == HttpStatusCode.OK, response.Text);
        var (header, binary) = binaryOut ? OipHost.SplitBinary(response) : (Json(response), []);
        Assert.Equal("echo", header.GetProperty("model_name").GetString());
        Assert.Equal("1", header.GetProperty("model_version").GetString());
        Assert.Equal($"req-{datatype}", header.GetProperty("id").GetString());
        var output = Assert.Single(header.GetProperty("outputs").EnumerateArray());
        Assert.Equal("x", output.GetProperty("name").GetString());
        Assert.Equal(OipSamples.Returned(datatype), output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 2], output.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        if (binaryOut)
        {
            Assert.Equal("application/octet-stream", response.ContentHeaders.ContentType?.MediaType);
            Assert.Equal(raw.Length, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt64());
            Assert.Equal(raw, binary);
        }
        else
        {
            Assert.Equal("application/json", response.ContentHeaders.ContentType?.MediaType);
            Assert.Equal(raw, OipSamples.RawOf(OipSamples.Returned(datatype), output.GetProperty("data")));
        }
    }

    [Fact]
    public async Task Infer_NestedDataBeforeShape_IsReadRowMajor()
    {
        var json = """{"inputs":[{"data":[[1.5,2.5,3.5],[4.5,5.5,6.5]],"name":"in","datatype":"FP32","shape":[1,1,2,3]}]}""";

        var response = await OipHost.PostJsonAsync(fixture.Http, fixture.Url("v2/models/identity/infer"), json, Ct);

        Assert.True(response.Status == HttpStatusCode.OK, response.Text);
        var output = Assert.Single(Json(response).GetProperty("outputs").EnumerateArray());
        Assert.Equal("out", output.GetProperty("name").GetString());
        Assert.Equal([1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f], output.GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));
        Assert.False(Json(response).TryGetProperty("id", out _));
    }

    [Fact]
    public async Task Infer_OutputsSelectionAndBinaryDataOutput_ReturnsTheNamedOutputsInOrderAllBinary()
    {
        var json = """{"parameters":{"binary_data_output":true,"unknown":3},"inputs":[{"name":"x","shape":[2],"datatype":"INT32","data":[1,2]},{"name":"y","shape":[1],"datatype":"BYTES","data":["why"]}],"outputs":[{"name":"y"},{"name":"x"}]}""";

        var response = await OipHost.PostJsonAsync(fixture.Http, fixture.Url("v2/models/echo/infer"), json, Ct);

        Assert.True(response.Status == HttpStatusCode.OK, response.Text);
        var (header, binary) = OipHost.SplitBinary(response);
        var outputs = header.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(["y", "x"], outputs.Select(o => o.GetProperty("name").GetString()));
        Assert.Equal([7L, 8], outputs.Select(o => o.GetProperty("parameters").GetProperty("binary_data_size").GetInt64()));
        Assert.Equal([3, 0, 0, 0, (byte)'w', (byte)'h', (byte)'y', 1, 0, 0, 0, 2, 0, 0, 0], binary);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"in","shape":[1,1,1,2],"datatype":"FP32","data":[1]}]}""", "[identity] input 'in': 'data' has 1 elements; shape [1,1,1,2] needs 2")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1,1,1,1],"datatype":"FP32","data":[1,2]}]}""", "[identity] input 'in': 'data' has more than the 1 elements of its shape")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1],"datatype":"FP33","data":[1]}]}""", "[identity] input 'in': datatype 'FP33' is not one of BOOL")]
    [InlineData("""{"inputs":[{"name":"nope","shape":[1],"datatype":"FP32","data":[1]}]}""", "[identity] unknown input name 'nope'; inputs are in: float32[-1,-1,-1,-1]")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1],"datatype":"UINT8","data":[300]}]}""", "[identity] input 'in': element 0 (300) is not a valid UINT8")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"nope"}]}""", "[identity] unknown output name 'nope'; outputs are out")]
    [InlineData("""{"inputs":[{"name":"in","shape":[-1],"datatype":"FP32","data":[1]}]}""", "[identity] input 'in': shape [-1] has a negative dimension")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1000000000000],"datatype":"FP32","data":[1]}]}""", "[identity] input 'in': shape [1000000000000] needs 1000000000000 elements, more than the request can hold")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1],"datatype":"FP32","data":[1]}""", "[identity] request is not valid JSON")]
    [InlineData("""{"parameters":{"graphpipe_next":5},"inputs":[]}""", "[identity] parameter 'graphpipe_next' must be a string")]
    [InlineData("""{"inputs":[{"name":"in","shape":[1],"datatype":"BOOL","data":[1]}]}""", "[identity] input 'in': BOOL element 0 must be true or false")]
    public async Task Infer_BadRequest_400WithJsonErrorNamingStageAndField(string json, string expected)
    {
        var response = await OipHost.PostJsonAsync(fixture.Http, fixture.Url("v2/models/identity/infer"), json, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("application/json", response.ContentHeaders.ContentType?.MediaType);
        Assert.StartsWith(expected, Json(response).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, "[echo] input 'x': binary_data_size is 10 but only 9 bytes of binary data are left")]
    [InlineData(8, "[echo] 1 bytes of binary data after the JSON are not claimed")]
    public async Task Infer_BinarySizeThatDoesNotMatchTheBody_400(int claimed, string expected)
    {
        var json = $$"""{"inputs":[{"name":"x","shape":[2],"datatype":"INT32","parameters":{"binary_data_size": {{claimed}} } }]}""";

        var response = await OipHost.PostBinaryAsync(fixture.Http, fixture.Url("v2/models/echo/infer"), json, [new byte[9]], Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith(expected, Json(response).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BOOL", new byte[] { 0, 2 }, "[echo] input 'x': BOOL element 1 is 2, not 0 or 1")]
    [InlineData("BYTES", new byte[] { 9, 0, 0, 0, 1, 0, 0, 0, 0 }, "[echo] input 'x': BYTES element 0 says 9 bytes, 5 are left")]
    [InlineData("INT16", new byte[] { 1, 2, 3 }, "[echo] input 'x': 3 bytes of data; shape [2] of INT16 needs 4")]
    public async Task Infer_BinaryDataThatDoesNotFitTheDatatype_400(string datatype, byte[] raw, string expected)
    {
        var json = $$"""{"inputs":[{"name":"x","shape":[2],"datatype":"{{datatype}}","parameters":{"binary_data_size": {{raw.Length}} } }]}""";

        var response = await OipHost.PostBinaryAsync(fixture.Http, fixture.Url("v2/models/echo/infer"), json, [raw], Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.StartsWith(expected, Json(response).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BodyOverTheHostLimit_413AsJson()
    {
        // The client declares the length and asks to go ahead (Expect: 100-continue), as curl does for large
        // bodies: the server must answer 413 from the declared length alone, before the body is sent. Sending
        // the body first raced with the early 413 (the server may close while the client still writes: broken pipe).
        await using var host = await OipHost.StartAsync(s => s.AddStage("echo", new AnyEchoStage()), o => o.MaxRequestBytes = 4096, Ct).WaitAsync(Limits.Step, Ct);
        var json = $$"""{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","data":["{{new string('a', 256 * 1024)}}"]}]}""";
        using var handler = new SocketsHttpHandler { Expect100ContinueTimeout = Limits.Step };
        using var http = new HttpClient(handler) { Timeout = Limits.Step };
        var content = new SentOnce(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.Address, "v2/models/echo/infer")) { Content = content };
        request.Headers.ExpectContinue = true;

        var response = await RawHttp.SendAsync(http, request, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Equal($"[echo] request body of {json.Length} bytes exceeds the limit of 4096 bytes (MaxRequestBytes)", Json(response).GetProperty("error").GetString());
        Assert.False(content.Sent, "the server should refuse on the declared length, without asking for the body");
    }

    /// <summary>A JSON body with its length declared, which records whether the client was let to send it.</summary>
    private sealed class SentOnce(byte[] body) : HttpContent
    {
        public bool Sent { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            Sent = true;
            return stream.WriteAsync(body).AsTask();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }

    [Fact]
    public async Task Infer_UnknownModel_404()
    {
        var response = await OipHost.PostJsonAsync(fixture.Http, fixture.Url("v2/models/nope/infer"), "{}", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.Status);
        Assert.StartsWith("model 'nope' is not served here", Json(response).GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
