using System.Diagnostics;
using GraphPipe.Cli;

namespace GraphPipe.UnitTests;

/// <summary>
/// <c>.npy</c> against NumPy itself, both ways: we read files NumPy wrote (committed by
/// <c>tools/interop/npy_fixtures.py generate</c>), and NumPy reads files we write (the same script's <c>verify</c>).
/// The values are those of the script's SPEC, stated again here.
/// </summary>
public sealed class NpyInteropTests
{
    private const string Python = "/usr/bin/python3";

    /// <summary>SPEC of tools/interop/npy_fixtures.py, as tensors.</summary>
    public static TheoryData<string> Names => [.. Spec().Keys];

    private static Dictionary<string, Tensor> Spec() => new()
    {
        ["f4"] = Tensor.Create<float>([0.5f, -1.25f, 3.0f, 1e-3f, 65504.0f, -0.0f], 2, 3),
        ["f8"] = Tensor.Create<double>([1.0 / 3.0, -2.5e300, 0.0], 3),
        ["f2"] = Tensor.Create<Half>([(Half)1.5f, (Half)(-0.25f), (Half)65504f], 3),
        ["i8"] = Tensor.Create<long>([1, -2, 1L << 40, -(1L << 62)], 2, 2),
        ["i4"] = Tensor.Scalar(7),
        ["i2"] = Tensor.Create<short>([short.MinValue, 0, short.MaxValue], 3),
        ["i1"] = Tensor.Create<sbyte>([-128, 5], 2),
        ["u1"] = Tensor.Create<byte>([0, 255, 1, 128], 4),
        ["u2"] = Tensor.Create<ushort>([65535, 2], 2),
        ["u4"] = Tensor.Create<uint>([uint.MaxValue, 3], 2),
        ["u8"] = Tensor.Create<ulong>([ulong.MaxValue, 4], 2),
        ["bytes"] = Tensor.FromStrings("cat", "", "tiger"),
        ["empty"] = Tensor.Create<float>([], 0, 3),
    };

    private static string NumpyFile(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", "numpy", $"numpy-{name}.npy");

    [Theory]
    [MemberData(nameof(Names))]
    public void Read_FileNumpyWrote_GivesTheSpecValues(string name)
    {
        var tensor = Npy.Read(File.ReadAllBytes(NumpyFile(name)), name);

        WireRoundTripTests.AssertTensorEqual(Spec()[name], tensor);
    }

    [Fact]
    public void Read_NumpyUnicodeArray_GivesUtf8Strings()
    {
        var tensor = Npy.Read(File.ReadAllBytes(NumpyFile("text")), "text");

        Assert.Equal([2L, 2], tensor.Shape.ToArray());
        Assert.Equal(["h\u00e9llo", "\u00fc", "", "\u732b"], tensor.ToStringArray());
    }

    [Fact]
    public async Task Write_SpecValues_NumpyLoadsTheSameArrays()
    {
        var script = Path.Combine(RepoRoot.Find(), "tools", "interop", "npy_fixtures.py");
        Assert.SkipUnless(File.Exists(Python), $"{Python} is missing (Debian python3; .ci/run installs python3-numpy)");
        var dir = Directory.CreateTempSubdirectory("graphpipe-npy-").FullName;
        try
        {
            foreach (var (name, tensor) in Spec())
            {
                Npy.Write(Path.Combine(dir, $"ours-{name}.npy"), tensor);
            }

            var psi = new ProcessStartInfo(Python, [script, "verify", dir]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(psi)!;
            var ct = TestContext.Current.CancellationToken;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
            Assert.SkipWhen((await stderr).Contains("No module named 'numpy'", StringComparison.Ordinal), "python3-numpy is not installed (.ci/run installs it)");

            Assert.True(process.ExitCode == 0, $"npy_fixtures.py verify failed:\n{await stdout}\n{await stderr}");
            Assert.Equal(Spec().Count, (await stdout).Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
