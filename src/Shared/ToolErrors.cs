using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GraphPipe.Shared;

/// <summary>
/// How a command-line tool (graphpipe, classy) reports failure: one line on stderr and an exit code (2 usage,
/// 1 runtime, 130 cancelled); the stack trace only with <c>-v</c>/<c>--verbose</c>, since a user needs what went
/// wrong and only a bug report needs where. A linked source file, so both tools behave the same.
/// </summary>
internal static class ToolErrors
{
    public const int Runtime = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;

    /// <summary>Whether the arguments (or a truthy <paramref name="verboseEnvironment"/>) ask for details; read raw so it works even when parsing failed.</summary>
    public static bool WantsDetails(IReadOnlyList<string> args, string? verboseEnvironment)
        => args.TakeWhile(a => a != "--").Any(a => a is "-v" or "--verbose")
           || verboseEnvironment is "1" || string.Equals(verboseEnvironment, "true", StringComparison.OrdinalIgnoreCase) || string.Equals(verboseEnvironment, "yes", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first parse problem as one usage line, or null: an unknown --flag (which the parser would take as a positional value such as a file name) or a parse error.</summary>
    public static string? UsageProblem(ParseResult parse, string tool)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var unknownFlag = parse.Tokens.FirstOrDefault(t => t.Type == TokenType.Argument && t.Value.Length > 1 && t.Value[0] == '-' && !double.TryParse(t.Value, CultureInfo.InvariantCulture, out _));
        if (unknownFlag is not null)
        {
            return $"unknown option '{unknownFlag.Value}' (see '{tool} --help')";
        }

        // One clear line (plus a pointer to help) rather than a wall of usage text.
        return parse.Errors.Count > 0 ? $"{parse.Errors[0].Message} (see '{tool} --help')" : null;
    }

    /// <summary>
    /// Writes <paramref name="exception"/> as one line and returns the exit code. <paramref name="expectedExitCode"/> is the
    /// tool's classification; null means unexpected: an "internal error" line pointing at -v.
    /// </summary>
    public static int Report(string tool, Exception exception, int? expectedExitCode, bool verbose, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        var (line, code) = (exception, expectedExitCode) switch
        {
            (OperationCanceledException, _) => ("cancelled", Cancelled),
            (_, { } expected) => (OneLine(exception.Message), expected),
            _ => ($"internal error: {OneLine(exception.Message)}" + (verbose ? string.Empty : " (run with -v for details)"), Runtime),
        };
        error.WriteLine($"{tool}: {line}");
        if (verbose && exception is not OperationCanceledException)
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }

    /// <summary>Some runtime messages span lines, which would break the one-line promise.</summary>
    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
