using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using GraphPipe.Download;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe serve download</c>: the downloader stage (image URLs in, image bytes out).</summary>
internal static class DownloadCommand
{
    /// <summary>Where the downloader listens by default: next to a model server on 9000 without flags.</summary>
    public const string DefaultListen = "127.0.0.1:9002";

    internal static Command Create()
    {
        var settings = new ServerSettings(DefaultListen);
        var forwarding = new ForwardingSettings();
        var defaults = new DownloaderOptions();
        var perRequest = CliOptions.Env("--max-concurrency-per-request", "GP_MAX_CONCURRENCY_PER_REQUEST", "Downloads of one request running at once", defaults.MaxConcurrencyPerRequest);
        var global = CliOptions.Env("--max-downloads", "GP_MAX_DOWNLOADS", "Downloads running at once across all requests", defaults.MaxConcurrency);
        var timeout = CliOptions.Duration("--download-timeout", "GP_DOWNLOAD_TIMEOUT", "Time allowed per URL, redirects and body included (504 beyond), e.g. 10s", defaults.Timeout);
        var maxImage = CliOptions.Env("--max-image-bytes", "GP_MAX_IMAGE_BYTES", "Largest image accepted per URL, in bytes (400 beyond)", defaults.MaxBytesPerImage);
        var maxTotal = CliOptions.Env("--max-download-bytes", "GP_MAX_DOWNLOAD_BYTES", "Largest sum of images per request, in bytes (400 beyond)", defaults.MaxBytesPerRequest);
        var redirects = CliOptions.Env("--max-redirects", "GP_MAX_REDIRECTS", "Redirects followed per URL; each hop is checked like the URL", defaults.MaxRedirects);
        var retries = CliOptions.Env("--download-retries", "GP_DOWNLOAD_RETRIES", "Further attempts per URL after a transient failure (refused, reset, premature close, 502/503/504), within the per-URL timeout", defaults.MaxRetries);
        var maxUrls = CliOptions.Env("--max-urls", "GP_MAX_URLS", "URLs accepted per request", defaults.MaxUrlsPerRequest);
        var noTypeCheck = CliOptions.Env("--no-content-type-check", "GP_NO_CONTENT_TYPE_CHECK", "Accept any Content-Type (default: image/* and application/octet-stream only)", false);
        var name = CliOptions.EnvString("--name", "GP_NAME", "Name reported in metadata and errors", defaults.Name);
        var command = new Command("download", "Serve the downloader stage: fetch image URLs (string tensor) and return their bytes, or pass them to the next stage")
        {
            perRequest, global, timeout, maxImage, maxTotal, redirects, retries, maxUrls, noTypeCheck, name,
        };
        forwarding.AddTo(command);
        settings.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            // One policy for both kinds of client-supplied URL: images and next stages named in config.
            var options = new DownloaderOptions
            {
                MaxConcurrencyPerRequest = parse.GetValue(perRequest),
                MaxConcurrency = parse.GetValue(global),
                Timeout = parse.GetValue(timeout),
                MaxBytesPerImage = parse.GetValue(maxImage),
                MaxBytesPerRequest = parse.GetValue(maxTotal),
                MaxRedirects = parse.GetValue(redirects),
                MaxRetries = parse.GetValue(retries),
                MaxUrlsPerRequest = parse.GetValue(maxUrls),
                CheckContentType = !parse.GetValue(noTypeCheck),
                Name = parse.GetValue(name) ?? defaults.Name,
                Policy = forwarding.Policy(parse),
            };
            try
            {
                options.Validate();
            }
            catch (ValidationException ex)
            {
                throw CliException.Usage(DescribeInvalid(ex));
            }

            await using var app = settings.Build(parse, "download", serving =>
                forwarding.AddStage(serving, parse, "download", sp => new DownloaderStage(options, sp.GetService<ILogger<DownloaderStage>>())));
            return await ServerSettings.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The validation message with the option's flag instead of its property name.</summary>
    private static string DescribeInvalid(ValidationException ex)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [nameof(DownloaderOptions.MaxConcurrencyPerRequest)] = "--max-concurrency-per-request",
            [nameof(DownloaderOptions.MaxConcurrency)] = "--max-downloads",
            [nameof(DownloaderOptions.Timeout)] = "--download-timeout",
            [nameof(DownloaderOptions.MaxBytesPerImage)] = "--max-image-bytes",
            [nameof(DownloaderOptions.MaxBytesPerRequest)] = "--max-download-bytes",
            [nameof(DownloaderOptions.MaxRedirects)] = "--max-redirects",
            [nameof(DownloaderOptions.MaxRetries)] = "--download-retries",
            [nameof(DownloaderOptions.MaxUrlsPerRequest)] = "--max-urls",
            [nameof(DownloaderOptions.Name)] = "--name",
        };
        var member = ex.ValidationResult.MemberNames.FirstOrDefault()
            ?? flags.Keys.FirstOrDefault(k => ex.Message.StartsWith(k, StringComparison.Ordinal));
        return member is not null && flags.TryGetValue(member, out var flag) ? $"{flag}: {ex.Message}" : ex.Message;
    }
}
