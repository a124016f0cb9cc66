using System.CommandLine;
using GraphPipe.Train;

var root = new RootCommand("GraphPipe.Train: trains and evaluates the Fashion-MNIST head of the bundled demo model (classy-resnet18-fashion)")
{
    Commands.Train(),
    Commands.Evaluate(),
    Commands.ExportSamples(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors) Console.Error.WriteLine($"GraphPipe.Train: {error.Message}");
    return 2;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
}
catch (Exception ex) when (ex is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
{
    Console.Error.WriteLine($"GraphPipe.Train: {ex.Message}");
    return 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("GraphPipe.Train: cancelled");
    return 130;
}
