using System.CommandLine;
using GraphPipe.Cli;
using GraphPipe.Shared;

var verbose = ToolErrors.WantsDetails(args, Environment.GetEnvironmentVariable("GP_VERBOSE"));
try
{
    var root = new RootCommand("graphpipe: serve ML models and pipeline stages over the GraphPipe protocol")
    {
        ServeCommands.Create(),
        ClientCommands.Metadata(),
        ClientCommands.Infer(),
        BenchCommand.Create(),
        ProbeCommand.Create(),
    };
    // Every command takes -v for failure details (read from the raw arguments above); serve commands have their own -v, which also logs every request.
    var details = new Option<bool>("--verbose", "-v") { Description = "Show the details (stack trace) of a failure" };
    root.Add(details);
    foreach (var command in root.Subcommands.Where(c => c.Name != "serve"))
    {
        command.Add(details);
    }

    if (Console.IsOutputRedirected)
    {
        // Spectre assumes 80 columns when it cannot ask a terminal; a log file can take whole table rows.
        Spectre.Console.AnsiConsole.Profile.Width = Math.Max(Spectre.Console.AnsiConsole.Profile.Width, 180);
    }

    var parse = root.Parse(args);
    if (ToolErrors.UsageProblem(parse, "graphpipe") is { } problem)
    {
        Console.Error.WriteLine($"graphpipe: {problem}");
        return ToolErrors.Usage;
    }

    return await parse.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        // No 2 s kill on SIGTERM: a serving host drains and waits for in-flight requests itself.
        ProcessTerminationTimeout = null,
    }).ConfigureAwait(false);
}
catch (Exception ex)
{
    return CliErrors.Report(ex, verbose, Console.Error);
}
