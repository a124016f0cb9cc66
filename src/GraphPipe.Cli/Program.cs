using System.CommandLine;
using GraphPipe.Cli;
using GraphPipe.Client;

var root = new RootCommand("graphpipe: serve ML models and pipeline stages over the GraphPipe protocol")
{
    ServeCommands.Create(),
    ClientCommands.Metadata(),
    ClientCommands.Infer(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // One clear line (plus a pointer to help) rather than a wall of usage text.
    Console.Error.WriteLine($"graphpipe: {parse.Errors[0].Message} (see 'graphpipe --help')");
    return 2;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
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
