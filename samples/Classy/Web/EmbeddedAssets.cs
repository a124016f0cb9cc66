using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Classy.Web;

/// <summary>
/// The page's files, embedded in this assembly (logical names <c>wwwroot/...</c>; see Classy.csproj): the
/// app, the GraphPipe JS client (clients/js/src) and the vendored flatbuffers runtime. Nothing is
/// fetched from elsewhere, so the page works without the internet.
/// </summary>
internal sealed class EmbeddedAssets
{
    private const string Prefix = "wwwroot/";
    private readonly FrozenDictionary<string, Asset> _assets;

    private EmbeddedAssets(FrozenDictionary<string, Asset> assets) => _assets = assets;

    public sealed record Asset(string Path, byte[] Content, string ContentType, string ETag);

    public IEnumerable<string> Paths => _assets.Keys;

    public static EmbeddedAssets Load(Assembly assembly)
    {
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var content = copy.ToArray();
            var path = "/" + name[Prefix.Length..];
            assets[path] = new Asset(path, content, ContentTypeOf(path), $"\"{Convert.ToHexString(SHA256.HashData(content).AsSpan(0, 12))}\"");
        }

        return new EmbeddedAssets(assets.ToFrozenDictionary(StringComparer.Ordinal));
    }

    public Asset? Find(string path) => _assets.GetValueOrDefault(path == "/" ? "/index.html" : path);

    public static async Task WriteAsync(HttpContext context, Asset asset)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        // Revalidate every time: the assets change with the build, and the ETag makes it cheap.
        response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
        }
    }

    internal static string ContentTypeOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".webmanifest" => "application/manifest+json",
        ".json" => "application/json",
        ".md" or "" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
}
