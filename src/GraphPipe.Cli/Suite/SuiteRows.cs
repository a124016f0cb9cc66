using GraphPipe.Cli.Suite.Rows;

namespace GraphPipe.Cli.Suite;

/// <summary>The rows of the suite, in the order they run and print. A new comparison is one more entry.</summary>
internal static class SuiteRows
{
    public static IReadOnlyList<IBenchRow> All() =>
    [
        new ProtocolRows(),
        new ServerOverheadRows(),
        new ModelServingRows(),
    ];
}

/// <summary>The model the model-serving rows use when <c>--model</c> is not given.</summary>
internal static class SuiteModels
{
    /// <summary>
    /// The default model, or null and why not. Today: ResNet18 from the Microsoft.ML.DnnImageFeaturizer.ResNet18
    /// NuGet package in the local package cache. To switch to the bundled demo model, return the path
    /// <c>GraphPipe.Models.DemoModel.EnsureAsync</c> gives here; the rows read input name and shape from
    /// the model itself, so nothing else changes.
    /// </summary>
    public static Task<(string? Path, string Reason)> DefaultAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(FindResNet18());
    }

    private static (string? Path, string Reason) FindResNet18()
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var package = Path.Combine(cache, "microsoft.ml.dnnimagefeaturizer.resnet18");
        if (!Directory.Exists(package))
        {
            return (null, $"no --model given and the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 is not in {cache}");
        }

        // Newest version first, so a package update is picked up without a code change.
        var found = Directory.EnumerateDirectories(package)
            .OrderByDescending(d => Version.TryParse(Path.GetFileName(d), out var v) ? v : new Version(0, 0))
            .Select(d => Path.Combine(d, "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx"))
            .FirstOrDefault(File.Exists);
        return found is null ? (null, $"the ResNet18 package in {package} has no tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx") : (found, string.Empty);
    }
}
