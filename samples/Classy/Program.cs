using System.CommandLine;
using Classy;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Shared;
using Spectre.Console;

if (Console.IsOutputRedirected)
{
    // Spectre assumes 80 columns when it cannot ask a terminal; a log file can take whole table rows.
    AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
}

var root = new RootCommand("classy: classify images through GraphPipe stages (downloader -> preprocessor -> model)");
var images = new Argument<string[]>("images") { Description = "Local image files and/or http(s) URLs", Arity = ArgumentArity.ZeroOrMore };
var via = new Option<Sequencing>("--via") { Description = "Sequencing: client, server or hybrid", DefaultValueFactory = _ => Sequencing.Client };
var json = new Option<bool>("--json") { Description = "Print results as JSON" };
var batch = new Option<int>("--batch") { Description = "Images per request", DefaultValueFactory = _ => 8 };
var host = new Option<string>("--host") { Description = "Host of the stages (ports 9000 model, 9001 preprocessor, 9002 downloader, 9011/9012 chained)", DefaultValueFactory = _ => "127.0.0.1" };
var model = ReplicasOption("--model", "Model stage URL (default http://HOST:9000); replicas: URLs separated by commas, or dns:///name:port");
var preprocessor = ReplicasOption("--preprocessor", "Preprocessor URL, no --next (default http://HOST:9001); replicas as --model");
var downloader = ReplicasOption("--downloader", "Downloader URL, no --next (default http://HOST:9002); replicas as --model");
var chainedPreprocessor = UrlOption("--chained-preprocessor", "Preprocessor started with --next MODEL (default http://HOST:9011)");
var chainedDownloader = UrlOption("--chained-downloader", "Downloader started with --next CHAINED-PREPROCESSOR (default http://HOST:9012)");
var auth = new ClientAuthFlags(string.Empty, "GP_", "the stages");
root.Add(images);
root.Add(via);
root.Add(json);
root.Add(batch);
root.Add(host);
root.Add(model);
root.Add(preprocessor);
root.Add(downloader);
root.Add(chainedPreprocessor);
root.Add(chainedDownloader);
auth.AddTo(root);
root.SetAction(async (parse, ct) =>
{
    var list = parse.GetValue(images) ?? [];
    if (list.Length == 0)
    {
        Console.Error.WriteLine("classy: give image files or URLs (or run 'classy demo')");
        return 2;
    }

    foreach (var file in list.Where(i => !ClassyClient.IsUrl(i) && !File.Exists(i)))
    {
        Console.Error.WriteLine($"classy: file '{file}' does not exist");
        return 2;
    }

    var local = ClassyEndpoints.Local(parse.GetValue(host)!);
    var replicas = new[] { parse.GetValue(model), parse.GetValue(preprocessor), parse.GetValue(downloader) };
    var groups = replicas.OfType<EndpointGroup>().ToArray();
    var endpoints = new ClassyEndpoints(
        replicas[0]?.Address ?? local.Model,
        replicas[1]?.Address ?? local.Preprocessor,
        replicas[2]?.Address ?? local.Downloader,
        parse.GetValue(chainedPreprocessor) ?? local.ChainedPreprocessor,
        parse.GetValue(chainedDownloader) ?? local.ChainedDownloader);
    HttpMessageHandler handler = auth.Tls(parse).Apply(new SocketsHttpHandler());
    var key = auth.ApiKey(parse);
    if (key is not null)
    {
        handler = new BearerTokenHandler(key) { InnerHandler = handler };
    }

    using var client = new ClassyClient(endpoints, handler, replicas: groups) { BatchSize = Math.Max(1, parse.GetValue(batch)) };
    var mode = parse.GetValue(via);
    var (results, stats) = await ClassifyWithProgressAsync(client, list, mode, showProgress: !parse.GetValue(json), ct);
    if (parse.GetValue(json))
    {
        Console.Out.WriteLine(ResultPrinter.ToJson(new { mode = mode.ToString().ToLowerInvariant(), results, stats }));
    }
    else
    {
        ResultPrinter.Table(AnsiConsole.Console, $"Classy ({mode.ToString().ToLowerInvariant()} sequencing)", results);
        AnsiConsole.MarkupLine($"{stats.Images} image(s) in {stats.Elapsed.TotalMilliseconds:0} ms; sent {stats.BytesSent:N0} B, received {stats.BytesReceived:N0} B in {stats.Calls} call(s)");
    }

    var failed = results.Count(r => !r.Succeeded);
    if (failed > 0)
    {
        Console.Error.WriteLine($"classy: {failed} of {results.Count} image(s) failed");
        return 1;
    }

    return 0;
});
root.Add(DemoCommand.Create());
root.Add(Classy.Web.WebCommand.Create());

// Every command takes -v for failure details (read from the raw arguments, so it also works when parsing fails).
root.Add(new Option<bool>("--verbose", "-v") { Description = "Show the details (stack trace) of a failure", Recursive = true });
var verbose = ToolErrors.WantsDetails(args, verboseEnvironment: null);
try
{
    var parsed = root.Parse(args);
    if (ToolErrors.UsageProblem(parsed, "classy") is { } problem)
    {
        Console.Error.WriteLine($"classy: {problem}");
        return ToolErrors.Usage;
    }

    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception ex)
{
    // Expected failures (an unreachable stage, an unreadable model or labels file, a port in use) are one line, exit 1; anything else is an internal error.
    var expected = ex is GraphPipeException or ArgumentException or IOException or System.Security.Cryptography.CryptographicException or InvalidDataException or HttpRequestException or UnauthorizedAccessException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException ? ToolErrors.Runtime : (int?)null;
    return ToolErrors.Report("classy", ex, expected, verbose, Console.Error);
}

// System.CommandLine has no Uri conversion of its own: without this parser a URL failed at GetValue as an internal error.
static Option<Uri?> UrlOption(string name, string description) => new(name)
{
    Description = description,
    CustomParser = r =>
    {
        var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : string.Empty;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)) return uri;
        r.AddError($"{name}: '{text}' is not an http(s) URL");
        return null;
    },
};

// A stage's replicas: one URL, several separated by commas (or the option repeated), or dns:///name:port re-resolved.
static Option<EndpointGroup?> ReplicasOption(string name, string description) => new(name)
{
    Description = description,
    Arity = ArgumentArity.OneOrMore,
    AllowMultipleArgumentsPerToken = false,
    CustomParser = r =>
    {
        var text = string.Join(',', r.Tokens.Select(t => t.Value));
        try
        {
            return EndpointGroup.Parse(text);
        }
        catch (FormatException ex)
        {
            r.AddError($"{name}: {ex.Message}");
            return null;
        }
    },
};

static async Task<(IReadOnlyList<Classification>, ClassyStats)> ClassifyWithProgressAsync(ClassyClient client, string[] list, Sequencing mode, bool showProgress, CancellationToken ct)
{
    if (!showProgress || list.Length < 16 || !AnsiConsole.Profile.Capabilities.Interactive)
    {
        return await client.ClassifyAsync(list, mode, null, ct);
    }

    (IReadOnlyList<Classification>, ClassyStats) result = default;
    await AnsiConsole.Progress().StartAsync(async context =>
    {
        var task = context.AddTask($"classifying {list.Length} images", maxValue: list.Length);
        result = await client.ClassifyAsync(list, mode, new Progress<int>(done => task.Value = done), ct);
    });
    return result;
}
