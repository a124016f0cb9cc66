using System.CommandLine;
using GraphPipe.Models;
using GraphPipe.Pipelines;

namespace Classy.Web;

/// <summary>
/// <c>classy web</c>: the Classy page on <c>http://127.0.0.1:8080</c>. With no stage options it starts the
/// stages in this process (the bundled demo model, as <c>classy demo</c> does); with <c>--host</c> or any
/// stage URL it proxies to running stages instead.
/// </summary>
internal static class WebCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Use running stages on this host (ports 9000 model, 9001 preprocessor, 9002 downloader, 9011/9012 chained)", DefaultValueFactory = _ => "127.0.0.1" };
        Option<Uri?>[] stageUrls =
        [
            UrlOption("--model", "Use this running model stage"),
            UrlOption("--preprocessor", "Use this running preprocessor (no --next)"),
            UrlOption("--downloader", "Use this running downloader (no --next)"),
            UrlOption("--chained-preprocessor", "Use this running preprocessor started with --next MODEL"),
            UrlOption("--chained-downloader", "Use this running downloader started with --next CHAINED-PREPROCESSOR"),
        ];
        var listen = new Option<string>("--listen") { Description = "HOST:PORT to serve the page on (loopback unless told)", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var allowPrivate = new Option<bool>("--allow-private-networks") { Description = "In-process stages: let the downloader fetch loopback/private URLs (local testing)" };
        var allowHost = new Option<string[]>("--allow-host") { Description = "In-process stages: a host the downloader may fetch from even if private (repeatable)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("web", "Serve the Classy web app (a GraphPipe client in the browser) and the stages it calls")
        {
            listen, allowPrivate, allowHost, host,
        };
        foreach (var option in stageUrls)
        {
            command.Add(option);
        }

        command.SetAction(async (parse, ct) =>
        {
            var running = parse.GetResult(host) is { Implicit: false } || stageUrls.Any(o => parse.GetValue(o) is not null);
            ClassyStack? stack = null;
            try
            {
                ClassyEndpoints endpoints;
                if (running)
                {
                    var local = ClassyEndpoints.Local(parse.GetValue(host)!);
                    Uri Pick(int i, Uri fallback) => parse.GetValue(stageUrls[i]) ?? fallback;
                    endpoints = new ClassyEndpoints(Pick(0, local.Model), Pick(1, local.Preprocessor), Pick(2, local.Downloader), Pick(3, local.ChainedPreprocessor), Pick(4, local.ChainedDownloader));
                }
                else
                {
                    Console.WriteLine("classy web: preparing the bundled demo model (ResNet18 backbone + Fashion-MNIST head)...");
                    var demo = await DemoModel.EnsureAsync(cancellationToken: ct).ConfigureAwait(false);
                    stack = await ClassyStack.StartAsync(new ClassyStackOptions
                    {
                        ModelPath = demo.ModelPath,
                        LabelsPath = demo.LabelsPath,
                        DownloadPolicy = new NetworkPolicy
                        {
                            AllowPrivateNetworks = parse.GetValue(allowPrivate),
                            AllowedHosts = new HashSet<string>(parse.GetValue(allowHost) ?? [], StringComparer.OrdinalIgnoreCase),
                        },
                        // Hybrid routes may name the stages' own host (loopback), nothing else private.
                        RoutePolicy = new NetworkPolicy { AllowedHosts = new HashSet<string>(["127.0.0.1"], StringComparer.OrdinalIgnoreCase) },
                    }, ct).ConfigureAwait(false);
                    endpoints = stack.Endpoints;
                }

                await using var web = await ClassyWebApp.StartAsync(new ClassyWebOptions
                {
                    Listen = parse.GetValue(listen)!,
                    Stages = endpoints,
                    SamplesDirectory = Path.Combine(AppContext.BaseDirectory, "samples"),
                }, cancellationToken: ct).ConfigureAwait(false);
                Console.WriteLine($"classy web: stages {(running ? "running at" : "in-process:")} model {endpoints.Model}  preprocessor {endpoints.Preprocessor}  downloader {endpoints.Downloader}");
                Console.WriteLine($"classy web: serving on {web.Address} (Ctrl+C stops)");
                await web.WaitAsync(ct).ConfigureAwait(false);
                return 0;
            }
            finally
            {
                if (stack is not null)
                {
                    await stack.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static Option<Uri?> UrlOption(string name, string description) => new(name)
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
}
