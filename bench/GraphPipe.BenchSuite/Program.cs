using System.CommandLine;
using GraphPipe.BenchSuite;

if (Console.IsOutputRedirected)
{
    // Spectre assumes 80 columns when it cannot ask a terminal; a log file can take whole table rows.
    Spectre.Console.AnsiConsole.Profile.Width = Math.Max(Spectre.Console.AnsiConsole.Profile.Width, 180);
}

if (args is [ChildHost.Command, ..])
{
    return await ChildHost.RunAsync(args).ConfigureAwait(false);
}

var parse = SuiteCommand.Create().Parse(args);
if (parse.Errors.Count > 0)
{
    // One clear line rather than a wall of usage text.
    Console.Error.WriteLine($"bench suite: {parse.Errors[0].Message} (see --help)");
    return 2;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
catch (SuiteUsageException ex)
{
    Console.Error.WriteLine($"bench suite: {ex.Message}");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("bench suite: cancelled");
    return 130;
}
