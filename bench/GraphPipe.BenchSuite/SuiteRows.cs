using GraphPipe.BenchSuite.Rows;
using GraphPipe.Models;

namespace GraphPipe.BenchSuite;

/// <summary>The rows of the suite, in the order they run and print. A new comparison is one more entry.</summary>
internal static class SuiteRows
{
    public static IReadOnlyList<IBenchRow> All() =>
    [
        new ProtocolRows(),
        new ServerOverheadRows(),
        new ProtocolDoorRows(),
        new ModelServingRows(),
        new PreprocessRows(),
        new PipelineRows(),
        new BatchingRows(),
        new ReplicaRows(),
        new CacheRows(),
    ];
}

/// <summary>The model the model and pipeline rows use when <c>--model</c> is not given.</summary>
internal static class SuiteModels
{
    /// <summary>
    /// The bundled demo classifier (<see cref="DemoModel"/>: input <c>image</c> [N,3,224,224], profile
    /// <c>resnet18</c>) with its labels, assembled into the model cache on first use; or null and why not.
    /// The rows read input name and shape from the model itself, so any model given with <c>--model</c> works too.
    /// </summary>
    public static async Task<(string? Path, string? LabelsPath, string Reason)> DefaultAsync(CancellationToken cancellationToken)
    {
        try
        {
            var files = await DemoModel.EnsureAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return (files.ModelPath, files.LabelsPath, string.Empty);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException)
        {
            // Missing NuGet ONNX sources or an unwritable cache cost the model rows only, not the whole suite.
            return (null, null, $"no --model given and the demo model could not be assembled: {ex.Message}");
        }
    }
}
