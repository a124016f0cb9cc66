using System.Buffers;
using System.Net;
using GraphPipe.Server;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.BenchSuite;

/// <summary>HTTP plumbing shared by the rows, so ours and every HTTP baseline use identical client settings.</summary>
internal static class SuiteHttp
{
    /// <summary>
    /// The one client configuration of the suite: pooled keep-alive connections (enough for the widest
    /// concurrency), no proxy, no decompression, no timeout of its own.
    /// </summary>
    public static HttpClient CreateClient(int maxConnections, out ByteCountingHandler counter)
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(1, maxConnections),
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        counter = new ByteCountingHandler(handler);
        return new HttpClient(counter, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>
    /// The server-overhead baseline: a bare Kestrel app with the same listen options as the GraphPipe server
    /// (loopback, same body limit, no server header) whose endpoint <c>/</c> reads the body and writes it back.
    /// Reads into a pooled buffer sized from Content-Length, as the GraphPipe front door does, so neither
    /// side pays for a growing buffer. <c>/sink</c> reads the body the same way and answers with an empty body:
    /// the floor of carrying a request to a server (the model row's HTTP floor).
    /// </summary>
    public static async Task<EchoServer> StartEchoAsync(long maxRequestBytes, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseGraphPipeListen("127.0.0.1:0", maxRequestBytes);
        var app = builder.Build();
        app.MapPost("/", static context => ReadBodyThenAnswerAsync(context, echo: true));
        app.MapPost("/sink", static context => ReadBodyThenAnswerAsync(context, echo: false));
        var address = await StartAppAsync(app, cancellationToken).ConfigureAwait(false);
        return new EchoServer(app, address);
    }

    /// <summary>Reads the whole body into a pooled buffer sized from Content-Length; writes it back (echo) or answers empty.</summary>
    private static async Task ReadBodyThenAnswerAsync(HttpContext context, bool echo)
    {
        var length = (int)(context.Request.ContentLength ?? 0);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            await context.Request.Body.ReadExactlyAsync(buffer.AsMemory(0, length), context.RequestAborted).ConfigureAwait(false);
            if (!echo)
            {
                context.Response.ContentLength = 0;
                return;
            }

            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = length;
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, length), context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The gRPC door's baseline: a bare Kestrel app on an h2c loopback port, with the OIP door's HTTP/2 windows,
    /// answering <c>inference.GRPCInferenceService/ModelInfer</c> with no gRPC framework at all: it reads the
    /// request's whole body and copies it once into a pooled buffer (as the door's marshaller does), then
    /// writes <paramref name="framedResponse"/> (a gRPC-framed ModelInferResponse made once) and
    /// <c>grpc-status: 0</c>. What remains of a call to it is HTTP/2 on both ends and the client.
    /// </summary>
    public static async Task<EchoServer> StartGrpcFloorAsync(byte[] framedResponse, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 4 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 1 << 20;
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.MapPost("/inference.GRPCInferenceService/ModelInfer", async context =>
        {
            var reader = context.Request.BodyReader;
            var result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            while (!result.IsCompleted)
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
            }

            var copy = ArrayPool<byte>.Shared.Rent((int)result.Buffer.Length);
            result.Buffer.CopyTo(copy);
            reader.AdvanceTo(result.Buffer.End);
            ArrayPool<byte>.Shared.Return(copy);
            context.Response.ContentType = "application/grpc";
            await context.Response.BodyWriter.WriteAsync(framedResponse, context.RequestAborted).ConfigureAwait(false);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        var address = await StartAppAsync(app, cancellationToken).ConfigureAwait(false);
        return new EchoServer(app, address);
    }

    /// <summary>
    /// A bare Kestrel app on loopback serving <paramref name="body"/> at <c>GET /file</c> (the address returned
    /// points at it): the image origin of a pipeline's downloader, with no disk or network in the way.
    /// </summary>
    public static async Task<EchoServer> StartFileServerAsync(byte[] body, string contentType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseGraphPipeListen("127.0.0.1:0", 1024);
        var app = builder.Build();
        app.MapGet("/file", async context =>
        {
            context.Response.ContentType = contentType;
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        });
        var address = await StartAppAsync(app, cancellationToken).ConfigureAwait(false);
        return new EchoServer(app, new Uri(address, "/file"));
    }

    /// <summary>Starts <paramref name="app"/> (disposing it if that fails) and returns its bound address, ending in '/'.</summary>
    private static async Task<Uri> StartAppAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>Whether served rows run with metrics (and traces, where OTEL_EXPORTER_OTLP_ENDPOINT is set) as <c>graphpipe serve</c> does; <c>GP_BENCH_TELEMETRY=0</c> turns them off to measure their cost.</summary>
    public static bool Telemetry { get; } = Environment.GetEnvironmentVariable("GP_BENCH_TELEMETRY") is not ("0" or "false" or "off");

    /// <summary>Hosts <paramref name="stage"/> exactly as <c>graphpipe serve</c> does (default limits, telemetry on), on a free loopback port.</summary>
    public static Task<GraphPipeStageHost> HostAsync(IInferenceStage stage, CancellationToken cancellationToken)
        => HostAsync(serving => serving.AddStage(string.IsNullOrWhiteSpace(stage.Metadata.Name) ? "stage" : stage.Metadata.Name, stage), cancellationToken);

    /// <summary>Hosts the stages <paramref name="addStages"/> adds, as <see cref="HostAsync(IInferenceStage, CancellationToken)"/> does.</summary>
    public static Task<GraphPipeStageHost> HostAsync(Action<GraphPipeServingBuilder> addStages, CancellationToken cancellationToken)
        => GraphPipeStageHost.StartAsync(serving =>
        {
            addStages(serving);
            if (Telemetry)
            {
                serving.AddTelemetry("bench");
            }
        }, "127.0.0.1:0", cancellationToken: cancellationToken);
}

/// <summary>A running bare Kestrel app (the echo baseline or the file server); disposing stops it.</summary>
internal sealed class EchoServer(WebApplication app, Uri address) : IAsyncDisposable
{
    public Uri Address { get; } = address;

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A stage that returns its input: all that remains of a round trip through it is the server's own cost.</summary>
internal sealed class IdentityStage : IInferenceStage
{
    public IdentityStage(IOMetadata input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Metadata = new StageMetadata
        {
            Name = "identity",
            Version = "1",
            Server = "graphpipe-dotnet bench suite",
            Description = "returns its input",
            Inputs = [input],
            Outputs = [input with { Name = "output" }],
        };
    }

    public StageMetadata Metadata { get; }

    public ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The input is a view of the request buffer, which the front door keeps alive until the response is written.
        return ValueTask.FromResult(StageResult.Success([request.Inputs[0]]));
    }
}

