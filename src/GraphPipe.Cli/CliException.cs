using GraphPipe.Shared;

namespace GraphPipe.Cli;

/// <summary>
/// A user-facing failure: printed as one line, no stack trace. Exit code 1 for a runtime failure (a server
/// that cannot be reached, a port in use), 2 for a usage error (see <see cref="Usage"/>), so scripts can tell
/// "you called it wrong" from "it did not work".
/// </summary>
internal sealed class CliException(string message, int exitCode = ToolErrors.Runtime) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>A bad flag value, a missing required flag or flags that exclude each other: exit code 2.</summary>
    public static CliException Usage(string message) => new(message, ToolErrors.Usage);
}
