using System.Globalization;
using System.Text.Json;
using Classy;
using Classy.Web;
using GraphPipe.Imaging;
using Microsoft.Playwright;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>
/// <c>classy web</c>'s page in a real browser (Debian's Chromium via Playwright), at a phone viewport
/// (390x844) and a desktop one: the page itself speaks GraphPipe to the stages through the same-origin
/// proxy. Cards are checked against the model called in-process; screenshots go to artifacts/classy-web/.
/// </summary>
public sealed class ClassyWebBrowserTests(ClassyWebFixture fixture) : IClassFixture<ClassyWebFixture>
{
    /// <summary>
    /// How long a run of the page may take before the test calls it hung. Generous: alone a run takes seconds,
    /// but CI runs the browser beside every other test class on 2 cores (runs of 45-60 s seen with the CPUs busy).
    /// </summary>
    private const int AnswerTimeoutMs = 180_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Classify_UploadsAndUrlsAtPhoneViewport_EveryCardShowsTheModelsClass()
    {
        SkipWithoutBrowser();
        var (page, requests) = await fixture.OpenAsync(phone: true);
        var uploads = fixture.Samples.Take(4).ToArray();
        var byUrl = fixture.Samples.Skip(4).Take(4).ToArray();

        await page.GetByLabel("Choose images").SetInputFilesAsync(uploads.Select(s => s.File));
        await page.GetByLabel("Image URLs, one per line").FillAsync(string.Join('\n', byUrl.Select(s => fixture.Images.UrlOf(s.File))));
        await page.GetByRole(AriaRole.Radio, new() { Name = "Client" }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Classify", Exact = true }).ClickAsync();
        var cards = await WaitForCardsAsync(page, 8);

        Assert.Equal([.. uploads.Concat(byUrl).Select(s => s.Label)], cards.Select(c => c.Label));
        Assert.All(cards, c => Assert.Equal("done", c.State));
        Assert.All(cards, c => Assert.Equal(3, c.Labels));
        Assert.All(cards, c => Assert.Contains("answered by the model", c.Meta, StringComparison.Ordinal));
        // Thumbnails: uploads at once, URL images fetched through the downloader afterwards.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.card img').length === 8");
        // The progress bar counted every image; the status line says the run is over with no failure.
        Assert.Equal((8.0, 8.0), (await page.EvalOnSelectorAsync<double>("#progress", "e => e.value"), await page.EvalOnSelectorAsync<double>("#progress", "e => e.max")));
        Assert.Equal("Done: 8 images (client).", await page.Locator("#status").TextContentAsync());
        // Nothing outside the page's own origin (no CDN, no fonts); no sideways scrolling on a phone.
        Assert.All(requests, url => Assert.True(url.StartsWith(fixture.Web.Address.ToString(), StringComparison.Ordinal) || url.StartsWith("blob:", StringComparison.Ordinal) || url.StartsWith("data:", StringComparison.Ordinal), url));
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        await fixture.ScreenshotAsync(page, "classy-phone");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Compare_AtDesktopViewport_ModesAgreeAndBytesSentOrderClientOverServerOverHybridByUrl()
    {
        SkipWithoutBrowser();
        var (page, _) = await fixture.OpenAsync(phone: false);
        var uploads = fixture.Samples.Take(4).ToArray();
        var byUrl = fixture.Samples.Skip(4).Take(4).ToArray();

        await page.GetByLabel("Choose images").SetInputFilesAsync(uploads.Select(s => s.File));
        var uploaded = await CompareAsync(page, uploads);
        await page.GetByRole(AriaRole.Button, new() { Name = "Clear" }).ClickAsync();
        await page.GetByLabel("Image URLs, one per line").FillAsync(string.Join('\n', byUrl.Select(s => fixture.Images.UrlOf(s.File))));
        var urls = await CompareAsync(page, byUrl);
        await fixture.ScreenshotAsync(page, "classy-desktop-compare");
        // The same page narrowed to a phone (docs/img/classy-phone.png is this shot): no sideways scrolling.
        await page.SetViewportSizeAsync(390, 844);
        await page.Locator("#comparison").ScrollIntoViewIfNeededAsync();
        await page.EvaluateAsync("() => document.getElementById('comparison').scrollIntoView()");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fixture.ScreenshotDirectory, "classy-phone-compare.png") });
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the compare view scrolls sideways at 390 px");

        foreach (var (name, rows) in new[] { ("uploads", uploaded), ("URLs", urls) })
        {
            foreach (var row in rows.Values)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"compare {name} {row.Mode}: {row.MsPerImage} ms/image, sent {row.SentPerImage} B/image, received {row.ReceivedPerImage} B/image");
                Assert.Equal(0, row.Failed);
            }
        }

        // Client sequencing uploads the 3x224x224 float tensor (602,112 B) per image; the others send the image or its URL.
        Assert.True(uploaded["client"].SentPerImage > 602_112, $"client {uploaded["client"].SentPerImage} B");
        Assert.True(uploaded["client"].SentPerImage > 100 * uploaded["server"].SentPerImage, $"client {uploaded["client"].SentPerImage} B vs server {uploaded["server"].SentPerImage} B");
        Assert.True(uploaded["server"].SentPerImage > urls["hybrid"].SentPerImage, $"server (image bytes) {uploaded["server"].SentPerImage} B vs hybrid by URL {urls["hybrid"].SentPerImage} B");
        Assert.True(urls["client"].SentPerImage > 100 * urls["hybrid"].SentPerImage, $"client by URL {urls["client"].SentPerImage} B vs hybrid by URL {urls["hybrid"].SentPerImage} B");
        Assert.True(urls["hybrid"].SentPerImage < 1024, $"hybrid by URL {urls["hybrid"].SentPerImage} B");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Classify_BadInputs_EachCardNamesItsFailingStageWhileTheOthersClassify()
    {
        SkipWithoutBrowser();
        var (page, _) = await fixture.OpenAsync(phone: true);
        var good = fixture.Samples[0];
        var notAnImage = Path.Combine(fixture.ImageDirectory.FullName, "notes.png");
        await File.WriteAllTextAsync(notAnImage, "these are notes, not a picture", Ct);

        await page.GetByLabel("Choose images").SetInputFilesAsync([good.File, notAnImage]);
        await page.GetByLabel("Image URLs, one per line").FillAsync($"{fixture.Images.UrlOf("missing.png")}\n{fixture.Images.UrlOf(fixture.Samples[1].File)}\nnot a url at all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Classify", Exact = true }).ClickAsync();
        var cards = await WaitForCardsAsync(page, 5);
        await fixture.ScreenshotAsync(page, "classy-phone-errors");

        Assert.Equal(("done", good.Label), (cards[0].State, cards[0].Label));
        Assert.Equal(("error", "preprocessor"), (cards[1].State, cards[1].ErrorStage));
        Assert.StartsWith("client: preprocessor: HTTP 400: [preprocess]", cards[1].Error, StringComparison.Ordinal);
        Assert.Equal(("error", "downloader"), (cards[2].State, cards[2].ErrorStage));
        Assert.Contains("404", cards[2].Error, StringComparison.Ordinal);
        Assert.Equal(("done", fixture.Samples[1].Label), (cards[3].State, cards[3].Label));
        Assert.Equal(("error", "downloader"), (cards[4].State, cards[4].ErrorStage));
        Assert.Contains("[download]", cards[4].Error, StringComparison.Ordinal);
        Assert.Contains("3 failed", await page.Locator("#status").TextContentAsync(), StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Keyboard_OnlyKeysAtPhoneViewport_PickHybridAndClassifyWithLabelledControlsAndReadableContrast()
    {
        SkipWithoutBrowser();
        var (page, _) = await fixture.OpenAsync(phone: true);
        var sample = fixture.Samples[2];

        // Every control has an accessible name; every text passes WCAG AA contrast (4.5:1).
        Assert.Equal("[]", await page.EvaluateAsync<string>(UnlabelledControlsScript));
        Assert.Equal("[]", await page.EvaluateAsync<string>(LowContrastScript));

        await TabUntilAsync(page, "urls");
        await page.Keyboard.TypeAsync(fixture.Images.UrlOf(sample.File).ToString());
        await TabUntilAsync(page, "mode-client");
        await page.Keyboard.PressAsync("ArrowDown");
        await page.Keyboard.PressAsync("ArrowDown");
        Assert.True(await page.GetByRole(AriaRole.Radio, new() { Name = "Hybrid" }).IsCheckedAsync());
        await TabUntilAsync(page, "classify");
        await page.Keyboard.PressAsync("Enter");
        var cards = await WaitForCardsAsync(page, 1);

        Assert.Equal(("done", sample.Label, "hybrid"), (cards[0].State, cards[0].Label, cards[0].Mode));
        Assert.Contains("answered by the downloader (downloader → preprocessor → model)", cards[0].Meta, StringComparison.Ordinal);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Classify_ModelStageStopsMidRun_LaterCardsNameTheModelWhileEarlierOnesKeepTheirClass()
    {
        SkipWithoutBrowser();
        // A backend of its own (the VGG-shaped test model), since this test stops its model stage.
        var dir = Directory.CreateTempSubdirectory("classy-web-stop-");
        try
        {
            var labelsPath = Path.Combine(dir.FullName, "labels.txt");
            await File.WriteAllLinesAsync(labelsPath, Enumerable.Range(0, 1000).Select(j => $"class-{j}"), Ct);
            await using var stack = await ClassyStack.StartAsync(new ClassyStackOptions { ModelPath = TestModels.Path("vgg_like.onnx"), LabelsPath = labelsPath, Profile = PreprocessProfile.Get("vgg") }, Ct);
            await using var web = await ClassyWebApp.StartAsync(new ClassyWebOptions { Listen = "127.0.0.1:0", Stages = stack.Endpoints }, cancellationToken: Ct);
            var files = fixture.Samples.Select(s => s.File).ToArray();
            var expected = await ClassyWebFixture.ClassifyInProcessAsync(stack, PreprocessProfile.Get("vgg"), files, Ct);
            var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, IsMobile = true });
            var page = await context.NewPageAsync();
            // The page sends up to 4 requests at once; the fifth call to the model stops the model's host before it goes on.
            var modelCalls = 0;
            await page.RouteAsync("**/stages/model/", async route =>
            {
                if (Interlocked.Increment(ref modelCalls) == 5)
                {
                    // In-flight calls get 20 s to finish, not the host's 30 s: a drain on a loaded machine
                    // must not eat the cards' wait.
                    using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                    bounded.CancelAfter(TimeSpan.FromSeconds(20));
                    try
                    {
                        await stack.StopStageAsync(stack.Endpoints.Model, bounded.Token);
                    }
                    catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
                    {
                        // The 20 s ran out: the host cut what was still in flight.
                    }
                }

                await route.ContinueAsync();
            });
            await page.GotoAsync(web.Address.ToString());
            await page.WaitForFunctionAsync("() => performance.getEntriesByName(new URL('api/config', location.href).href).length > 0");

            await page.GetByLabel("Choose images").SetInputFilesAsync(files);
            await page.GetByRole(AriaRole.Button, new() { Name = "Classify", Exact = true }).ClickAsync();
            var cards = await WaitForCardsAsync(page, files.Length);
            await fixture.ScreenshotAsync(page, "classy-phone-stage-down");

            var done = cards.Where(c => c.State == "done").ToArray();
            var failed = cards.Where(c => c.State == "error").ToArray();
            Assert.True(done.Length >= 1 && failed.Length >= 1, string.Join('\n', cards));
            Assert.All(done, c => Assert.Equal(expected[c.Index].Label, c.Label));
            Assert.All(failed, c => Assert.Equal("model", c.ErrorStage));
            Assert.All(failed, c => Assert.StartsWith("client: model: stage is down or unreachable (HTTP 502)", c.Error, StringComparison.Ordinal));
            await context.CloseAsync();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private void SkipWithoutBrowser()
    {
        if (fixture.MissingPremise is { } missing)
        {
            Assert.Skip(missing);
        }
    }

    private sealed record Card(int Index, string Name, string State, string? Label, string? Mode, string? ErrorStage, string? Error, int Labels, string Meta);

    private sealed record Row(string Mode, double MsPerImage, long SentPerImage, long ReceivedPerImage, int Failed);

    /// <summary>Waits until the run is over (every card answered, buttons enabled again) and reads the cards.</summary>
    private static async Task<Card[]> WaitForCardsAsync(IPage page, int count)
    {
        try
        {
            await page.WaitForFunctionAsync(
                "n => document.querySelectorAll('.card').length === n && !document.querySelector('.card[data-state=pending]') && !document.getElementById('classify').disabled",
                count,
                new PageWaitForFunctionOptions { Timeout = AnswerTimeoutMs });
        }
        catch (TimeoutException e)
        {
            // Say which cards were still waiting, and for what, rather than only that the wait ran out.
            var state = await page.EvaluateAsync<string>("() => document.getElementById('status')?.textContent + '\\n' + [...document.querySelectorAll('.card')].map(c => c.dataset.index + ' ' + c.dataset.state + ' ' + (c.querySelector('.meta')?.textContent ?? '')).join('\\n')");
            throw new TimeoutException($"waiting for {count} answered cards: {e.Message}\n{state}", e);
        }

        var json = await page.EvaluateAsync<string>("""
            () => JSON.stringify([...document.querySelectorAll('.card')].map(c => ({
              index: Number(c.dataset.index), name: c.dataset.name, state: c.dataset.state, label: c.dataset.label ?? null,
              mode: c.dataset.mode ?? null, errorStage: c.dataset.errorStage ?? null,
              error: c.querySelector('.error')?.textContent ?? null,
              labels: c.querySelectorAll('.labels li').length, meta: c.querySelector('.meta')?.textContent ?? '' })))
            """);
        return JsonSerializer.Deserialize<Card[]>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    /// <summary>Presses Compare, waits for the three rows, checks every card agrees across modes with the in-process class, returns the rows by mode.</summary>
    private static async Task<Dictionary<string, Row>> CompareAsync(IPage page, (string File, string Label)[] expected)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Compare all three" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#comparison-rows tr').length === 3 && !document.getElementById('compare').disabled", null, new PageWaitForFunctionOptions { Timeout = AnswerTimeoutMs });
        Assert.Equal("true", await page.GetAttributeAsync("#agreement", "data-agree"));
        var labels = await page.EvaluateAsync<string>("() => JSON.stringify([...document.querySelectorAll('.card')].map(c => [c.dataset.labelClient, c.dataset.labelServer, c.dataset.labelHybrid]))");
        var perCard = JsonSerializer.Deserialize<string[][]>(labels)!;
        Assert.Equal(expected.Length, perCard.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal([expected[i].Label, expected[i].Label, expected[i].Label], perCard[i]);
        }

        var rows = await page.EvaluateAsync<string>("() => JSON.stringify([...document.querySelectorAll('#comparison-rows tr')].map(r => ({ ...r.dataset })))");
        return JsonSerializer.Deserialize<Dictionary<string, string>[]>(rows)!.ToDictionary(
            r => r["mode"],
            r => new Row(r["mode"], double.Parse(r["msPerImage"], CultureInfo.InvariantCulture), long.Parse(r["sentPerImage"], CultureInfo.InvariantCulture), long.Parse(r["receivedPerImage"], CultureInfo.InvariantCulture), int.Parse(r["failed"], CultureInfo.InvariantCulture)));
    }

    private static async Task TabUntilAsync(IPage page, string id)
    {
        for (var i = 0; i < 20; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<string>("() => document.activeElement?.id ?? ''") == id)
            {
                return;
            }
        }

        Assert.Fail($"#{id} is not reachable with Tab");
    }

    private const string UnlabelledControlsScript = """
        () => JSON.stringify([...document.querySelectorAll('input, textarea, button, select, progress')]
          .filter(e => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || (e.tagName === 'BUTTON' && e.textContent.trim())))
          .map(e => e.outerHTML))
        """;

    private const string LowContrastScript = """
        () => {
          const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
          const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
          const background = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c.slice(0, 3); } return [255, 255, 255]; };
          const low = [];
          for (const e of document.querySelectorAll('body *')) {
            if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) || e.closest('[hidden]') || e.offsetParent === null) continue;
            const fg = rgb(getComputedStyle(e).color).slice(0, 3), bg = background(e);
            const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
            const ratio = (a + 0.05) / (b + 0.05);
            if (ratio < 4.5) low.push(`${e.tagName}#${e.id}.${e.className}: ${ratio.toFixed(2)}`);
          }
          return JSON.stringify(low);
        }
        """;
}
