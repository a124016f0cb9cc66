using System.CommandLine;
using GraphPipe.Cli;
using GraphPipe.Client;

var root = new RootCommand("graphpipe: serve ML models and pipeline stages over the GraphPipe protocol")
{
    ServeCommands.Create(),
    ClientCommands.Metadata(),
    ClientCommands.Infer(),
    BenchCommand.Create(),
};

if (Console.IsOutputRedirected)
{
    // Spectre assumes 80 columns when it cannot ask a terminal; a log file can take whole table rows.
    Spectre.Console.AnsiConsole.Profile.Width = Math.Max(Spectre.Console.AnsiConsole.Profile.Width, 180);
}

var parse = root.Parse(args);
// An unknown --flag would otherwise be taken as a positional value (a URL or file name).
var unknownFlag = parse.Tokens.FirstOrDefault(t => t.Type == System.CommandLine.Parsing.TokenType.Argument && t.Value.Length > 1 && t.Value[0] == '-' && !double.TryParse(t.Value, System.Globalization.CultureInfo.InvariantCulture, out _));
if (unknownFlag is not null)
{
    Console.Error.WriteLine($"graphpipe: unknown option '{unknownFlag.Value}' (see 'graphpipe --help')");
    return 2;
}

if (parse.Errors.Count > 0)
{
    // One clear line (plus a pointer to help) rather than a wall of usage text.
    Console.Error.WriteLine($"graphpipe: {parse.Errors[0].Message} (see 'graphpipe --help')");
    return 2;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        // No 2 s kill on SIGTERM: a serving host drains and waits for in-flight requests itself.
        ProcessTerminationTimeout = null,
    }).ConfigureAwait(false);
}
catch (CliException ex)
{
    Console.Error.WriteLine($"graphpipe: {ex.Message}");
    return 1;
}
catch (GraphPipeException ex)
{
    Console.Error.WriteLine($"graphpipe: {ex.Message}");
    return 1;
}
catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException or FormatException)
{
    Console.Error.WriteLine($"graphpipe: {ex.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("graphpipe: cancelled");
    return 130;
}
