using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Classy;

/// <summary>
/// A plain HTTP file server on loopback that plays "the internet" for the demo and the tests: the
/// downloader fetches image URLs from it. Serves the files of one directory, nothing else.
/// </summary>
public sealed class LocalImageServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalImageServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The URL of a file of the served directory.</summary>
    public Uri UrlOf(string fileName) => new(Address, Uri.EscapeDataString(Path.GetFileName(fileName)));

    public static async Task<LocalImageServer> StartAsync(string directory, string host = "127.0.0.1", CancellationToken cancellationToken = default)
    {
        var root = Path.GetFullPath(directory);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Parse(host), 0));
        var app = builder.Build();
        app.MapGet("/{name}", (string name) =>
        {
            // Only plain file names of the directory: no paths, no dot files.
            if (name.Contains('/') || name.Contains('\\') || name.StartsWith('.'))
            {
                return Results.NotFound();
            }

            var path = Path.Combine(root, name);
            return File.Exists(path) ? Results.File(path, ContentTypeOf(path)) : Results.NotFound();
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalImageServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    private static string ContentTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".gif" => "image/gif",
        ".bmp" => "image/bmp",
        ".webp" => "image/webp",
        _ => "application/octet-stream",
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
