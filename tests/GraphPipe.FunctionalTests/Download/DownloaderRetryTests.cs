using System.Diagnostics;
using System.Net.Sockets;
using GraphPipe.Download;
using GraphPipe.Stages;

namespace GraphPipe.FunctionalTests.Download;

/// <summary>
/// The downloader against origins that close connections: transient failures are retried within the
/// per-URL timeout, and a failure that lasts names its real cause.
/// </summary>
public sealed class DownloaderRetryTests
{
    private const int UrlsPerRequest = 64;
    private const int Requests = 50;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StageRequest Request(IEnumerable<string> urls) => new(["urls"], [Tensor.FromStrings(urls.ToArray())], ["images"], string.Empty);

    [Fact]
    public async Task InferAsync_PythonHttp10ServerClosingAfterEachResponse_NoFailuresIn50RequestsOf64Urls()
    {
        var directory = Directory.CreateTempSubdirectory("gp-http10-");
        try
        {
            for (var i = 0; i < UrlsPerRequest; i++)
            {
                await File.WriteAllBytesAsync(Path.Combine(directory.FullName, $"{i}.png"), ImageServer.Png, Ct);
            }

            var port = LoopbackPorts.Free();
            using var python = StartPythonHttpServer(port, directory.FullName);
            try
            {
                await WaitUntilListeningAsync(python, port);
                using var stage = new DownloaderStage(ImageServer.LocalOptions());
                var urls = Enumerable.Range(0, UrlsPerRequest).Select(i => $"http://127.0.0.1:{port}/{i}.png").ToArray();
                var failures = new List<string>();
                var clock = Stopwatch.StartNew();

                // One request at a time, as in the report: 8 downloads in flight (the default) against a listen backlog of 5.
                await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 1, CancellationToken = Ct }, async (_, ct) =>
                {
                    using var result = await stage.InferAsync(Request(urls), ct).AsTask().WaitAsync(Limits.Step, ct);
                    if (!result.IsSuccess)
                    {
                        lock (failures) failures.Add(result.Error!.Message);
                    }
                    else
                    {
                        Assert.All(result.Outputs[0].Strings, image => Assert.Equal(ImageServer.Png, image.ToArray()));
                    }
                });

                TestContext.Current.SendDiagnosticMessage($"python3 http.server (HTTP/1.0): {Requests} requests of {UrlsPerRequest} URLs, {failures.Count} failed, {clock.Elapsed.TotalSeconds:0.0} s");
                Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} requests failed: {string.Join(" | ", failures.Distinct().Take(3))}");
            }
            finally
            {
                python.Kill(entireProcessTree: true);
                await python.WaitForExitAsync(CancellationToken.None).WaitAsync(Limits.Step, CancellationToken.None);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task InferAsync_OriginBreaksOffTheBodyTwiceThenServes_Succeeds()
    {
        await using var origin = new ClosingOrigin(failFirst: 2, EarlyClose.MidBody);
        using var stage = new DownloaderStage(ImageServer.LocalOptions());

        using var result = await stage.InferAsync(Request([origin.Url("a.png")]), Ct).AsTask().WaitAsync(Limits.Step, Ct);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(ImageServer.Png, result.Outputs[0].Strings[0].ToArray());
        Assert.Equal(3, origin.Connections);
    }

    [Theory]
    [InlineData(EarlyClose.BeforeResponse, "request failed")]
    [InlineData(EarlyClose.MidBody, "download failed")]
    public async Task InferAsync_OriginAlwaysClosesEarly_BadGatewayNamingTheCauseWithinTheTimeout(EarlyClose how, string what)
    {
        await using var origin = new ClosingOrigin(failFirst: int.MaxValue, how);
        using var stage = new DownloaderStage(ImageServer.LocalOptions(o => o.Timeout = TimeSpan.FromSeconds(10)));
        var url = origin.Url("a.png");
        var clock = Stopwatch.StartNew();

        using var result = await stage.InferAsync(Request([url]), Ct).AsTask().WaitAsync(Limits.Step, Ct);

        // Upstream (502), not Timeout (504): the retries gave up before the per-URL timeout.
        Assert.False(result.IsSuccess);
        Assert.Equal(StageErrorKind.Upstream, result.Error!.Kind);
        Assert.StartsWith($"url 0 ({url}): {what}: the server closed the connection before a complete response (", result.Error.Message);
        Assert.Contains("ResponseEnded", result.Error.Message);
        Assert.EndsWith("(4 attempts)", result.Error.Message);
        // HttpClient retries a close before any response on a new connection itself, so the origin may see more.
        Assert.True(how == EarlyClose.MidBody ? origin.Connections == 4 : origin.Connections >= 4, $"{origin.Connections} connections");
        TestContext.Current.SendDiagnosticMessage($"always-closing origin ({how}): '{result.Error.Message}' after {clock.ElapsedMilliseconds} ms, {origin.Connections} connections");
    }

    [Fact]
    public async Task InferAsync_NothingListening_BadGatewayNamingTheSocketError()
    {
        var url = $"http://127.0.0.1:{LoopbackPorts.Free()}/a.png";
        using var stage = new DownloaderStage(ImageServer.LocalOptions());

        using var result = await stage.InferAsync(Request([url]), Ct).AsTask().WaitAsync(Limits.Step, Ct);

        Assert.False(result.IsSuccess);
        Assert.Equal(StageErrorKind.Upstream, result.Error!.Kind);
        Assert.StartsWith($"url 0 ({url}): could not connect: Connection refused", result.Error.Message);
        Assert.Contains("SocketError.ConnectionRefused", result.Error.Message);
        Assert.EndsWith("(4 attempts)", result.Error.Message);
    }

    private const string PythonServer = """
        import functools, http.server, sys
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        assert Quiet.protocol_version == "HTTP/1.0"
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), functools.partial(Quiet, directory=sys.argv[2])).serve_forever()
        """;

    private static Process StartPythonHttpServer(int port, string directory)
    {
        var info = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // What `python3 -m http.server` runs (ThreadingHTTPServer, SimpleHTTPRequestHandler: HTTP/1.0, one
        // connection per request, closed after the response, a listen backlog of 5), minus its per-request log line.
        foreach (var arg in new[] { "-c", PythonServer, port.ToString(System.Globalization.CultureInfo.InvariantCulture), directory })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("python3 did not start");
        // It logs every request to stderr: drain both streams so it never blocks on a full pipe.
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitUntilListeningAsync(Process python, int port)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(python.HasExited, $"python3 -m http.server exited with code {(python.HasExited ? python.ExitCode : 0)}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port, Ct);
                return;
            }
            catch (SocketException) when (waited.Elapsed < Limits.Step)
            {
                await Task.Delay(50, Ct);
            }
        }
    }
}
