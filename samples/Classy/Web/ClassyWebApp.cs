using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GraphPipe.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Classy.Web;

/// <summary>
/// <c>classy web</c>: serves the Classy page (embedded assets), its configuration (<c>/api/config</c>),
/// optional sample images, and a same-origin proxy to the stages (<see cref="StageProxy"/>). The page
/// itself is the GraphPipe client: it encodes and decodes the wire format and sequences the stages.
/// </summary>
public sealed partial class ClassyWebApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ClassyWebApp(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Where the page is served, e.g. <c>http://127.0.0.1:8080/</c>.</summary>
    public Uri Address { get; }

    public static async Task<ClassyWebApp> StartAsync(ClassyWebOptions options, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var assets = EmbeddedAssets.Load(typeof(ClassyWebApp).Assembly);
        var index = assets.Find("/index.html") ?? throw new InvalidOperationException("index.html is not embedded in the classy assembly");
        var securityPolicy = ContentSecurityPolicy(Encoding.UTF8.GetString(index.Content));
        var samples = SampleImages(options.SamplesDirectory);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        // The program around it (the classy command, a test) owns Ctrl+C and SIGTERM.
        builder.Services.AddSingleton<IHostLifetime, NoConsoleLifetime>();
        builder.WebHost.UseGraphPipeListen(options.Listen, options.MaxRequestBytes);
        var (routes, clusters) = StageProxy.Config(options);
        builder.Services.AddReverseProxy().LoadFromMemory(routes, clusters);

        var app = builder.Build();
        app.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = securityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return next(context);
        });
        var config = ConfigJson(options, samples);
        app.MapGet("/api/config", () => Results.Text(config, "application/json"));
        app.MapGet("/samples/{name}", (string name) => samples.FirstOrDefault(s => Path.GetFileName(s) == name) is { } file
            ? Results.File(file, EmbeddedAssets.ContentTypeOf(file) is var type && type.StartsWith("image/", StringComparison.Ordinal) ? type : "application/octet-stream")
            : Results.NotFound());
        app.MapReverseProxy();
        // Any other /stages/ path is no stage: a clear 404 rather than the page's 405, and nothing is forwarded.
        var known = string.Join(", ", StageProxy.Stages(options.Stages).Select(s => s.Name));
        app.MapMethods("/stages/{**rest}", ["GET", "HEAD", "POST"], (string? rest) =>
            Results.Text($"classy web: no stage '{rest?.Split('/')[0]}' (stages: {known})", "text/plain", statusCode: StatusCodes.Status404NotFound));
        app.MapMethods("/{**path}", ["GET", "HEAD"], (HttpContext context, string? path) =>
            assets.Find("/" + (path ?? string.Empty)) is { } asset ? EmbeddedAssets.WriteAsync(context, asset) : Results.NotFound().ExecuteAsync(context));

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ClassyWebApp(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>What the page needs to know: where to reach each stage (proxy paths) and the route hybrid sequencing names (the stages' own addresses).</summary>
    internal static string ConfigJson(ClassyWebOptions options, IReadOnlyList<string> samples) => JsonSerializer.Serialize(new
    {
        stages = StageProxy.Stages(options.Stages).ToDictionary(s => CamelCase(s.Name), s => StageProxy.PathOf(s.Name).TrimStart('/')),
        route = new { preprocessor = options.Stages.Preprocessor.ToString(), model = options.Stages.Model.ToString() },
        samples = samples.Select(s => "samples/" + Uri.EscapeDataString(Path.GetFileName(s))),
    });

    private static string CamelCase(string name)
    {
        var parts = name.Split('-');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private static string[] SampleImages(string? directory)
        => directory is null || !Directory.Exists(directory)
            ? []
            : Directory.EnumerateFiles(directory).Where(f => EmbeddedAssets.ContentTypeOf(f).StartsWith("image/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    /// <summary>Everything from this origin only; the inline import map is allowed by its hash.</summary>
    internal static string ContentSecurityPolicy(string indexHtml)
    {
        var importMap = ImportMap().Match(indexHtml);
        var hash = importMap.Success ? $" 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(importMap.Groups[1].Value)))}'" : string.Empty;
        return $"default-src 'self'; script-src 'self'{hash}; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
    }

    [GeneratedRegex("<script type=\"importmap\">(.*?)</script>", RegexOptions.Singleline)]
    private static partial Regex ImportMap();

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled (Ctrl+C in the command).</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class NoConsoleLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
