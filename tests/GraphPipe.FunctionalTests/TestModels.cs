namespace GraphPipe.FunctionalTests;

internal static class TestModels
{
    /// <summary>Path of a model from tests/assets/models (see its README), copied next to the test binaries.</summary>
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "models", name);
}
