using System.Net;
using System.Net.Sockets;

namespace GraphPipe.FunctionalTests;

/// <summary>Every failure is one line on stderr: exit code 2 for a usage error, 1 for a runtime failure.</summary>
public sealed partial class CliEndToEndTests
{
    [Fact]
    public async Task Bench_DurationAsHelpShowsIt_RunsTheLevel()
    {
        // Help shows defaults as 00:00:10, so that form must be accepted as well as 10s.
        var run = await RunAsync("bench", "http://127.0.0.1:1", "--url", "http://127.0.0.1:1/a.jpg", "--duration", "00:00:01", "--warmup", "00:00:00", "--json").WaitAsync(StartupTimeout, Ct);

        // Exit 1: every request was refused, which is a result; a usage error would be 2.
        Assert.True(run.ExitCode == 1, run.Describe());
        Assert.Empty(run.StderrLines);
        Assert.Contains("connection refused", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_InvalidDuration_ExitsTwoWithOneLine()
    {
        var run = await RunAsync("bench", "http://127.0.0.1:1", "--url", "http://127.0.0.1:1/a.jpg", "--duration", "2x").WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith("graphpipe: --duration: '2x' is not a duration", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bench_RequestsOutOfRange_ExitsTwoWithOneLine()
    {
        var run = await RunAsync("bench", "http://127.0.0.1:1", "--url", "http://127.0.0.1:1/a.jpg", "--requests", "0").WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Equal("graphpipe: --requests must be between 1 and 10000000", Assert.Single(run.StderrLines));
    }

    [Fact]
    public async Task ServeOnnx_PortInUse_ExitsOneWithExactlyOneLine()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var run = await RunAsync("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", $"127.0.0.1:{port}", "--intra-op-threads", "1").WaitAsync(StartupTimeout, Ct);

        // A runtime failure (the flag is valid; the machine is busy), so 1, and no host log with a stack trace on either stream.
        Assert.True(run.ExitCode == 1, run.Describe());
        Assert.Equal($"graphpipe: cannot listen on 127.0.0.1:{port}: address already in use", Assert.Single(run.StderrLines));
        Assert.DoesNotContain(" at ", run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--listen", "nowhere", "graphpipe: --listen: listen address 'nowhere' is not HOST:PORT")]
    [InlineData("--inputs", "nope", "graphpipe: --inputs: 'nope' is not an input of 'add_mul'")]
    [InlineData("--log-format", "xml", "graphpipe: --log-format: 'xml' is not text or json")]
    public async Task ServeOnnx_InvalidServeSetting_ExitsTwoWithOneLine(string flag, string value, string expected)
    {
        var listen = flag == "--listen" ? value : "127.0.0.1:0";
        string[] args = ["serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", listen, "--intra-op-threads", "1", .. flag == "--listen" ? Array.Empty<string>() : [flag, value]];
        var run = await RunAsync(args).WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.StartsWith(expected, Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }
}
