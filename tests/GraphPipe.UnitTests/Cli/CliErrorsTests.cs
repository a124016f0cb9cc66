using System.Net.Sockets;
using GraphPipe.Cli;
using Microsoft.AspNetCore.Connections;

namespace GraphPipe.UnitTests;

public sealed class CliErrorsTests
{
    [Theory]
    [InlineData("2s", 2_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60_000)]
    [InlineData("1.5", 1_500)]
    [InlineData("00:00:02", 2_000)]
    [InlineData("01:02:03", 3_723_000)]
    [InlineData("00:00:00.250", 250)]
    public void TryParseDuration_SuffixOrClockForm_Parsed(string text, double expectedMs)
    {
        Assert.True(CliOptions.TryParseDuration(text, out var value));
        Assert.Equal(expectedMs, value.TotalMilliseconds, 6);
    }

    [Theory]
    [InlineData("2x")]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("00:xx:02")]
    [InlineData("1e400s")]
    public void TryParseDuration_NotADuration_False(string text)
    {
        Assert.False(CliOptions.TryParseDuration(text, out _));
    }

    [Fact]
    public void Report_UsageCliException_OneLineExitTwo()
    {
        using var error = new StringWriter();

        var code = CliErrors.Report(CliException.Usage("--requests must be between 1 and 10000000"), verbose: false, error);

        Assert.Equal(2, code);
        Assert.Equal("graphpipe: --requests must be between 1 and 10000000" + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void Report_RuntimeFailure_OneLineExitOne()
    {
        using var error = new StringWriter();

        var code = CliErrors.Report(new HttpRequestException("Connection refused (127.0.0.1:1)"), verbose: false, error);

        Assert.Equal(1, code);
        Assert.Equal("graphpipe: Connection refused (127.0.0.1:1)" + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void Report_UnexpectedException_InternalErrorLinePointingAtVerbose()
    {
        using var error = new StringWriter();

        var code = CliErrors.Report(new InvalidOperationException("boom\nsecond line"), verbose: false, error);

        Assert.Equal(1, code);
        Assert.Equal("graphpipe: internal error: boom second line (run with -v for details)" + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void Report_UnexpectedExceptionVerbose_AddsTheStackTrace()
    {
        using var error = new StringWriter();
        Exception thrown;
        try
        {
            throw new InvalidOperationException("boom");
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        var code = CliErrors.Report(thrown, verbose: true, error);

        Assert.Equal(1, code);
        var lines = error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("graphpipe: internal error: boom", lines[0]);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_Cancelled_Exit130()
    {
        using var error = new StringWriter();

        Assert.Equal(130, CliErrors.Report(new OperationCanceledException(), verbose: false, error));
        Assert.Equal("graphpipe: cancelled" + Environment.NewLine, error.ToString());
    }

    [Theory]
    [InlineData(new[] { "bench", "-v" }, null, true)]
    [InlineData(new[] { "serve", "onnx", "--verbose" }, null, true)]
    [InlineData(new[] { "infer", "URL", "--", "-v" }, null, false)]
    [InlineData(new[] { "metadata", "URL" }, "1", true)]
    [InlineData(new[] { "metadata", "URL" }, "0", false)]
    public void WantsDetails_FlagOrEnvironment_Detected(string[] args, string? environment, bool expected)
    {
        Assert.Equal(expected, GraphPipe.Shared.ToolErrors.WantsDetails(args, environment));
    }

    [Fact]
    public void ListenFailureDescribe_AddressInUse_NamesTheAddress()
    {
        var bind = new IOException("Failed to bind to address http://127.0.0.1:9000: address already in use.", new AddressInUseException("Address already in use", new SocketException(98)));

        var ex = ListenFailure.Describe(bind);

        Assert.Equal("cannot listen on 127.0.0.1:9000: address already in use", ex.Message);
        Assert.Equal(1, ex.ExitCode);
    }

    [Fact]
    public void ListenFailureDescribe_OtherBindFailure_KeepsKestrelsMessage()
    {
        var ex = ListenFailure.Describe(new IOException("Failed to bind to address http://127.0.0.1:80."));

        Assert.Equal("cannot listen: Failed to bind to address http://127.0.0.1:80.", ex.Message);
    }
}
