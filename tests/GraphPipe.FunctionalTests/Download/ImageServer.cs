using System.Globalization;
using GraphPipe.Download;
using GraphPipe.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.FunctionalTests.Download;

/// <summary>
/// A real HTTP origin on 127.0.0.1 (ephemeral port) serving the cases a downloader meets: images,
/// errors, slow and oversized bodies, HTML, redirects. It counts requests and the most served at once.
/// </summary>
internal sealed class ImageServer : IAsyncDisposable
{
    /// <summary>A real 1x1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private readonly WebApplication _app;
    private int _inFlight;
    private int _maxInFlight;
    private int _requests;

    private ImageServer(WebApplication app, string host, int port)
    {
        _app = app;
        Host = host;
        Port = port;
        Address = new Uri($"http://{host}:{port}/");
    }

    /// <summary>Downloader options for tests against this loopback origin: private networks allowed, limits as given.</summary>
    public static DownloaderOptions LocalOptions(Action<DownloaderOptions>? configure = null)
    {
        var options = new DownloaderOptions { Policy = NetworkPolicy.AllowAll };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>The loopback address listened on.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>http://HOST:PORT/</summary>
    public Uri Address { get; }

    /// <summary>The most requests to /counted/ handled at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Requests received so far, any route.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>
    /// How many /counted/ requests must be in flight at once before any is answered: the first ones wait for
    /// each other (up to <see cref="GateTimeout"/>), so a test sees that many overlap without racing a clock.
    /// Once reached, later requests pass the gate at once. 0: no gate.
    /// </summary>
    public int CountedGate { get; set; }

    /// <summary>The longest a /counted/ request waits at the gate; then it is answered anyway (and the test's count shows the gate was never reached).</summary>
    public TimeSpan GateTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long /counted/ holds each request after the gate, so that a download beyond a limit would still be in flight when the next arrives.</summary>
    public TimeSpan CountedDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    private readonly TaskCompletionSource _gateReached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The URL of <paramref name="path"/> by address.</summary>
    public string Url(string path) => $"http://{Host}:{Port}/{path}";

    /// <summary>The URL of <paramref name="path"/> by host name (resolved through DNS at connect time).</summary>
    public string LocalhostUrl(string path) => $"http://localhost:{Port}/{path}";

    /// <summary>Deterministic "image" bytes of an id-dependent size, so any mix-up of order or content shows.</summary>
    public static byte[] ImageBytes(int id)
    {
        var bytes = new byte[1000 + (id * 7919 % 50_000)];
        new Random(id).NextBytes(bytes);
        Png.AsSpan(0, 8).CopyTo(bytes);
        return bytes;
    }

    /// <param name="host">A loopback address; Linux answers on all of 127.0.0.0/8, so 127.0.0.2 gives a second, distinct origin.</param>
    public static async Task<ImageServer> StartAsync(string host = "127.0.0.1")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://{host}:0");
        var app = builder.Build();
        ImageServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync().WaitAsync(Limits.Step);
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        server = new ImageServer(app, host, address.Port);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Limits.Step);
        await _app.DisposeAsync().AsTask().WaitAsync(Limits.Step);
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var response = context.Response;
        var aborted = context.RequestAborted;
        var segments = (context.Request.Path.Value ?? "/").Trim('/').Split('/');
        var arg = segments.Length > 1 ? segments[1] : "0";
        try
        {
            switch (segments[0])
            {
                case "ok.png":
                    await WriteAsync(response, "image/png", Png, aborted);
                    break;
                case "img":
                    await WriteAsync(response, "image/jpeg", ImageBytes(Int(arg)), aborted);
                    break;
                case "octet":
                    await WriteAsync(response, "application/octet-stream", ImageBytes(Int(arg)), aborted);
                    break;
                case "notype":
                    await WriteAsync(response, null, ImageBytes(Int(arg)), aborted);
                    break;
                case "html":
                    await WriteAsync(response, "text/html; charset=utf-8", "<html><body>not an image</body></html>"u8.ToArray(), aborted);
                    break;
                case "status":
                    response.StatusCode = Int(arg);
                    await response.WriteAsync($"status {arg}", aborted);
                    break;
                case "slow":
                    // Longer than any test's timeout; ends early when the client goes away.
                    await Task.Delay(TimeSpan.FromSeconds(30), aborted);
                    await WriteAsync(response, "image/png", Png, aborted);
                    break;
                case "stall":
                    // Headers and the first bytes promptly, then nothing: the timeout must cover the body too.
                    response.ContentType = "image/png";
                    response.ContentLength = 10_000;
                    await response.Body.WriteAsync(Png, aborted);
                    await response.Body.FlushAsync(aborted);
                    await Task.Delay(TimeSpan.FromSeconds(30), aborted);
                    break;
                case "big":
                    response.ContentLength = long.Parse(arg, CultureInfo.InvariantCulture);
                    await WriteFillerAsync(response, long.Parse(arg, CultureInfo.InvariantCulture), aborted);
                    break;
                case "chunked":
                    // No Content-Length: the size shows only while reading.
                    await WriteFillerAsync(response, long.Parse(arg, CultureInfo.InvariantCulture), aborted);
                    break;
                case "redirect":
                    Redirect(response, context.Request.Query["to"].ToString());
                    break;
                case "redirect-loop":
                    Redirect(response, "/redirect-loop");
                    break;
                case "redirect-chain":
                    var left = Int(arg);
                    if (left == 0)
                    {
                        await WriteAsync(response, "image/png", Png, aborted);
                    }
                    else
                    {
                        Redirect(response, $"/redirect-chain/{left - 1}");
                    }

                    break;
                case "counted":
                    var now = Interlocked.Increment(ref _inFlight);
                    try
                    {
                        UpdateMax(now);
                        if (CountedGate > 0 && now >= CountedGate) _gateReached.TrySetResult();
                        if (CountedGate > 0)
                        {
                            // A timeout here is not an error: the response goes out and MaxInFlight tells the test.
                            await Task.WhenAny(_gateReached.Task, Task.Delay(GateTimeout, aborted)).ConfigureAwait(false);
                            aborted.ThrowIfCancellationRequested();
                        }

                        await Task.Delay(CountedDelay, aborted);
                        await WriteAsync(response, "image/jpeg", ImageBytes(Int(arg)), aborted);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _inFlight);
                    }

                    break;
                default:
                    response.StatusCode = StatusCodes.Status404NotFound;
                    break;
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The downloader gave up (timeout, size limit): nothing left to do.
        }
    }

    private void UpdateMax(int now)
    {
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
    }

    private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);

    private static void Redirect(HttpResponse response, string location)
    {
        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = location;
    }

    private static async Task WriteAsync(HttpResponse response, string? contentType, byte[] body, CancellationToken cancellationToken)
    {
        if (contentType is not null)
        {
            response.ContentType = contentType;
        }

        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, cancellationToken);
    }

    private static async Task WriteFillerAsync(HttpResponse response, long size, CancellationToken cancellationToken)
    {
        response.ContentType = "image/png";
        var chunk = new byte[16 * 1024];
        for (long sent = 0; sent < size; sent += chunk.Length)
        {
            await response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, size - sent)), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }
}
