using System.CommandLine;
using System.Globalization;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Imaging;
using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe serve preprocess</c>: encoded images in, a normalised float32 batch out.</summary>
internal static class PreprocessCommand
{
    public const string DefaultListen = "127.0.0.1:9001";

    internal static Command Create()
    {
        var settings = new ServerSettings(DefaultListen);
        var forwarding = new ForwardingSettings();
        var cache = new CacheSettings();
        var profile = CliOptions.Env("--profile", "GP_PROFILE", $"Preprocess profile: {string.Join(", ", PreprocessProfile.Names)}", "resnet18");
        var size = CliOptions.EnvString("--size", "GP_SIZE", "Output size WxH or N (square); overrides the profile", null);
        var channelOrder = CliOptions.EnvString("--channel-order", "GP_CHANNEL_ORDER", "rgb or bgr; overrides the profile", null);
        var layout = CliOptions.EnvString("--layout", "GP_LAYOUT", "nhwc or nchw; overrides the profile", null);
        var mean = CliOptions.EnvString("--mean", "GP_MEAN", "Per output channel means a,b,c (after --scale); overrides the profile", null);
        var std = CliOptions.EnvString("--std", "GP_STD", "Per output channel stds a,b,c; overrides the profile", null);
        var scale = CliOptions.EnvString("--scale", "GP_SCALE", "Pixel multiplier before mean/std, e.g. 1 or 1/255; overrides the profile", null);
        var resize = CliOptions.EnvString("--resize", "GP_RESIZE", "stretch, or crop (shorter side to 256/224 of the size, then centre crop); overrides the profile", null);
        var maxPixels = CliOptions.Env("--max-pixels", "GP_MAX_PIXELS", "Largest source image (width*height) accepted", ImagePreprocessor.DefaultMaxPixels);
        var defaults = new ImagePreprocessorOptions();
        var maxImages = CliOptions.Env("--max-images", "GP_MAX_IMAGES", "Most images per request (400 beyond)", defaults.MaxImagesPerRequest);
        var maxOutput = CliOptions.Env("--max-output-bytes", "GP_MAX_OUTPUT_BYTES", "Largest output of one request, images*3*H*W*4 bytes (400 beyond)", defaults.MaxOutputBytes);
        var maxInFlight = CliOptions.Env("--max-output-bytes-in-flight", "GP_MAX_OUTPUT_BYTES_IN_FLIGHT", "Largest sum of outputs held at once; requests beyond it wait", defaults.MaxOutputBytesInFlight);
        var parallelism = CliOptions.Env("--parallelism", "GP_PARALLELISM", "Images of one request decoded at once", Environment.ProcessorCount);
        var name = CliOptions.Env("--name", "GP_NAME", "Name reported in metadata and error messages", "preprocess");
        var command = new Command("preprocess", "Serve an image preprocessor: encoded images (string tensor) in, a normalised float32 tensor out")
        {
            profile, size, channelOrder, layout, mean, std, scale, resize, maxPixels, maxImages, maxOutput, maxInFlight, parallelism, name,
        };
        settings.AddTo(command);
        forwarding.AddTo(command);
        cache.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            PreprocessProfile chosen;
            try
            {
                chosen = PreprocessProfile.Get(parse.GetValue(profile)!);
            }
            catch (ArgumentException ex)
            {
                throw CliException.Usage($"--profile: {ex.Message}");
            }

            chosen = ApplyOverrides(chosen, parse.GetValue(size), parse.GetValue(channelOrder), parse.GetValue(layout), parse.GetValue(mean), parse.GetValue(std), parse.GetValue(scale), parse.GetValue(resize));
            if (forwarding.NextSpec(parse) is { } next && parse.GetValue(size) is null && parse.GetValue(layout) is null)
            {
                using var replicas = BalancingSettings.Parse("--next", next, forwarding.Balancing.Options(parse));
                chosen = await AdaptToNextAsync(chosen, replicas, ct).ConfigureAwait(false);
            }

            var options = new ImagePreprocessorOptions
            {
                Profile = chosen,
                MaxPixels = parse.GetValue(maxPixels),
                MaxImagesPerRequest = parse.GetValue(maxImages),
                MaxOutputBytes = parse.GetValue(maxOutput),
                MaxOutputBytesInFlight = parse.GetValue(maxInFlight),
                MaxDegreeOfParallelism = parse.GetValue(parallelism),
                Name = parse.GetValue(name)!,
            };
            try
            {
                chosen.Validate();
                _ = new ImagePreprocessorStage(options);
            }
            catch (ArgumentException ex)
            {
                throw CliException.Usage(ex.Message);
            }

            var stageName = parse.GetValue(name)!;
            await using var app = settings.Build(parse, stageName, serving =>
            {
                cache.Register(parse, serving.Services);
                forwarding.AddStage(serving, parse, stageName, sp => CacheSettings.Wrap(sp, new ImagePreprocessorStage(options, sp.GetService<ILogger<ImagePreprocessorStage>>())));
            });
            return await ServerSettings.RunAsync(app, ct).ConfigureAwait(false);
        });
        return command;
    }

    internal static PreprocessProfile ApplyOverrides(PreprocessProfile profile, string? size, string? channelOrder, string? layout, string? mean, string? std, string? scale, string? resize)
    {
        int? width = null, height = null, shorter = null;
        if (size is not null)
        {
            (width, height) = ParseSize(size);
            // Keep the profile's resize:crop ratio (256:224) when the size changes.
            shorter = (int)Math.Round(Math.Max(width.Value, height.Value) * (double)profile.ResizeShorterSide / Math.Max(profile.Width, profile.Height));
        }

        return profile.With(
            width: width,
            height: height,
            channelOrder: channelOrder is null ? null : channelOrder.Trim().ToUpperInvariant() switch
            {
                "RGB" => ChannelOrder.Rgb,
                "BGR" => ChannelOrder.Bgr,
                _ => throw CliException.Usage($"--channel-order: '{channelOrder}' is not rgb or bgr"),
            },
            layout: layout is null ? null : layout.Trim().ToUpperInvariant() switch
            {
                "NHWC" => TensorLayout.Nhwc,
                "NCHW" => TensorLayout.Nchw,
                _ => throw CliException.Usage($"--layout: '{layout}' is not nhwc or nchw"),
            },
            mean: mean is null ? null : ParseTriple("--mean", mean),
            std: std is null ? null : ParseTriple("--std", std),
            scale: scale is null ? null : ParseNumber("--scale", scale),
            resize: resize is null ? null : resize.Trim().ToUpperInvariant() switch
            {
                "STRETCH" => ResizeMode.Stretch,
                "CROP" => ResizeMode.ShorterSideCrop,
                _ => throw CliException.Usage($"--resize: '{resize}' is not stretch or crop"),
            },
            resizeShorterSide: shorter);
    }

    private static (int Width, int Height) ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length is 1 or 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            && int.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var h)
            && w is > 0 and <= 8192 && h is > 0 and <= 8192)
        {
            return (w, h);
        }

        throw CliException.Usage($"--size: '{text}' is not WxH or N (1..8192)");
    }

    private static float[] ParseTriple(string flag, string text)
    {
        var parts = CliOptions.SplitList(text);
        return parts.Length == 3
            ? parts.Select(p => ParseNumber(flag, p)).ToArray()
            : throw CliException.Usage($"{flag}: '{text}' needs three comma-separated numbers");
    }

    /// <summary>A number or a fraction such as <c>1/255</c>.</summary>
    private static float ParseNumber(string flag, string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0
            && double.TryParse(text.AsSpan(0, slash), NumberStyles.Float, CultureInfo.InvariantCulture, out var num)
            && double.TryParse(text.AsSpan(slash + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var den) && den != 0)
        {
            return (float)(num / den);
        }

        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && float.IsFinite(value)
            ? value
            : throw CliException.Usage($"{flag}: '{text}' is not a number");
    }

    /// <summary>
    /// Takes size and layout from the next stage's first input when it is a float32 image batch
    /// (<c>[N,3,H,W]</c> or <c>[N,H,W,3]</c>); keeps the profile when the next stage cannot be asked.
    /// </summary>
    private static async Task<PreprocessProfile> AdaptToNextAsync(PreprocessProfile profile, EndpointGroup replicas, CancellationToken cancellationToken)
    {
        StageMetadata metadata;
        try
        {
            using var http = ClientCommands.CreateHttpClient(replicas);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            metadata = await new GraphPipeClient(http, replicas.Address).GetMetadataAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is GraphPipeException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"graphpipe: warning: could not read metadata of next stage {replicas} ({ex.Message}); keeping profile {profile}").ConfigureAwait(false);
            return profile;
        }

        var adapted = AdaptTo(profile, metadata.Inputs.Count > 0 ? metadata.Inputs[0] : null);
        if (!ReferenceEquals(adapted, profile))
        {
            await Console.Out.WriteLineAsync($"graphpipe: next stage '{metadata.Name}' takes {metadata.Inputs[0]}: output {adapted.Layout} {adapted.Width}x{adapted.Height}").ConfigureAwait(false);
        }

        return adapted;
    }

    internal static PreprocessProfile AdaptTo(PreprocessProfile profile, IOMetadata? input)
    {
        if (input is not { Shape.Length: 4 } || input.Type is not (TensorType.Float32 or TensorType.Null))
        {
            return profile;
        }

        var s = input.Shape;
        var (layout, height, width) = s[1] == 3 && s[3] != 3 ? (TensorLayout.Nchw, s[2], s[3])
            : s[3] == 3 ? (TensorLayout.Nhwc, s[1], s[2])
            : (profile.Layout, -1L, -1L);
        if (height <= 0 || width <= 0 || height > 8192 || width > 8192)
        {
            return profile;
        }

        if (layout == profile.Layout && height == profile.Height && width == profile.Width)
        {
            return profile;
        }

        var shorter = (int)Math.Round(Math.Max(width, height) * (double)profile.ResizeShorterSide / Math.Max(profile.Width, profile.Height));
        return profile.With(width: (int)width, height: (int)height, layout: layout, resizeShorterSide: shorter);
    }
}
