using Classy;
using Classy.Web;
using GraphPipe.Imaging;
using GraphPipe.Stages;
using Microsoft.Playwright;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// One Chromium (Debian's, driven by Playwright; nothing downloaded) and one Classy backend for all the
/// browser tests of a class: the demo model's stages in-process, <c>classy web</c>'s app in front of
/// them, and a loopback file server playing the web for image URLs.
/// </summary>
public sealed class ClassyWebFixture : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public ClassyStack Stack { get; private set; } = null!;

    public ClassyWebApp Web { get; private set; } = null!;

    public LocalImageServer Images { get; private set; } = null!;

    public DirectoryInfo ImageDirectory { get; } = Directory.CreateTempSubdirectory("classy-web-");

    /// <summary>The sample images (Fashion-MNIST test images) and the class the model gives each in-process.</summary>
    public IReadOnlyList<(string File, string Label)> Samples { get; private set; } = [];

    /// <summary>Where screenshots go: the git-ignored <c>artifacts/classy-web/</c> of the repository.</summary>
    public string ScreenshotDirectory { get; } = Path.Combine(NodeRunner.RepoRoot(), "artifacts", "classy-web");

    public string? MissingPremise { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Chromium))
        {
            MissingPremise = $"needs Debian's chromium at {Chromium} (.ci/run installs it)";
            return;
        }

        var ct = TestContext.Current.CancellationToken;
        var demo = await global::GraphPipe.Models.DemoModel.EnsureAsync(cancellationToken: ct);
        Stack = await ClassyStack.StartAsync(new ClassyStackOptions { ModelPath = demo.ModelPath, LabelsPath = demo.LabelsPath }, ct);
        Web = await ClassyWebApp.StartAsync(new ClassyWebOptions { Listen = "127.0.0.1:0", Stages = Stack.Endpoints }, cancellationToken: ct);
        var samples = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "images", "fashion"), "*.png").Order(StringComparer.Ordinal).Take(8).ToArray();
        foreach (var file in samples)
        {
            File.Copy(file, Path.Combine(ImageDirectory.FullName, Path.GetFileName(file)));
        }

        Images = await LocalImageServer.StartAsync(ImageDirectory.FullName, cancellationToken: ct);
        Samples = await ClassifyInProcessAsync(Stack, PreprocessProfile.Get("resnet18"), samples, ct);
        Directory.CreateDirectory(ScreenshotDirectory);

        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Timeout = 60_000 });
    }

    /// <summary>A fresh page at a phone (390x844, touch) or desktop (1280x800) viewport, on the app, with every request it makes recorded.</summary>
    public async Task<(IPage Page, List<string> Requests)> OpenAsync(bool phone)
    {
        var context = await Browser.NewContextAsync(phone
            ? new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2 }
            : new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var requests = new List<string>();
        page.Request += (_, request) =>
        {
            lock (requests) requests.Add(request.Url);
        };
        var errors = new List<string>();
        page.PageError += (_, error) =>
        {
            lock (errors) errors.Add(error);
        };
        await page.GotoAsync(Web.Address.ToString());
        // The app is ready once its module has read /api/config (the samples button shows or stays hidden; the status is set).
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.length > 0 && performance.getEntriesByName(new URL('api/config', location.href).href).length > 0");
        Assert.Empty(errors);
        return (page, requests);
    }

    public async Task ScreenshotAsync(IPage page, string name)
        => await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    internal static async Task<IReadOnlyList<(string File, string Label)>> ClassifyInProcessAsync(ClassyStack stack, PreprocessProfile profile, string[] files, CancellationToken ct)
    {
        var results = new List<(string, string)>();
        foreach (var file in files)
        {
            var pixels = new float[profile.ElementsPerImage];
            ImagePreprocessor.Preprocess(await File.ReadAllBytesAsync(file, ct), profile, pixels);
            var input = Tensor.Create<float>(pixels, [.. profile.Shape(1)]);
            using var result = await stack.Model.InferAsync(new StageRequest([stack.Model.Metadata.Inputs[0].Name], [input], [TopKLabelsStage.LabelsOutput], string.Empty), ct);
            Assert.True(result.IsSuccess, result.Error?.Message);
            results.Add((file, result.Outputs[0].ToStringArray()[0]));
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (Web is not null) await Web.DisposeAsync();
        if (Images is not null) await Images.DisposeAsync();
        if (Stack is not null) await Stack.DisposeAsync();
        ImageDirectory.Delete(recursive: true);
    }
}
