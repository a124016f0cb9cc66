using GraphPipe.Client;
using GraphPipe.Shared;

namespace GraphPipe.Cli;

/// <summary>Which failures graphpipe expects (one line, exit 1 or 2) and which are bugs (an "internal error" line); the reporting itself is <see cref="ToolErrors"/>.</summary>
internal static class CliErrors
{
    public static int Report(Exception exception, bool verbose, TextWriter error)
        => ToolErrors.Report("graphpipe", exception, ExpectedExitCode(exception), verbose, error);

    private static int? ExpectedExitCode(Exception exception) => exception switch
    {
        CliException cli => cli.ExitCode,
        GraphPipeException or InvalidDataException or IOException or UnauthorizedAccessException or FormatException or HttpRequestException => ToolErrors.Runtime,
        _ => null,
    };
}
