using GraphPipe.Cli;

namespace GraphPipe.FunctionalTests;

/// <summary><c>serve onnx --model-cpus</c>: the model's threads on some CPUs, the server on the rest.</summary>
public sealed partial class CliEndToEndTests
{
    [Theory]
    [InlineData("1-", "graphpipe: --model-cpus: '1-' is not a list of CPUs 0-1023 (e.g. 1, 2-3, 0,4-5)")]
    [InlineData("3-1", "graphpipe: --model-cpus: '3-1' is not a list of CPUs 0-1023 (e.g. 1, 2-3, 0,4-5)")]
    [InlineData("1023", "graphpipe: --model-cpus: CPU 1023 is not one this process may run on (allowed: ")]
    public async Task ServeOnnx_InvalidModelCpus_ExitsTwoWithOneLineNamingTheFlag(string value, string expected)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "CPU pinning is Linux only");

        var run = await RunAsync("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--listen", "127.0.0.1:0", "--model-cpus", value).WaitAsync(StartupTimeout, Ct);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.StartsWith(expected, Assert.Single(run.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeOnnx_ModelCpus_ServesWithTheModelThreadOnThoseCpusOnly()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.ProcessorCount >= 2, "CPU pinning is Linux only, and needs 2 CPUs to show apart");
        var cpu = Environment.ProcessorCount - 1;
        var dir = Directory.CreateTempSubdirectory("graphpipe-cli-cpus-");
        using var server = Start("serve", "onnx", "--model", TestModels.Path("add_mul.onnx"), "--name", "m", "--listen", "127.0.0.1:0", "--model-cpus", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var url = await server.ServingUrl.WaitAsync(StartupTimeout, Ct);
            var x = Enumerable.Range(0, 4).Select(i => i * 0.5f).ToArray();
            var input = Path.Combine(dir.FullName, "x.npy");
            Npy.Write(input, Tensor.Create<float>(x, 1, 4));

            var infer = await RunAsync("infer", url, input, "--out", dir.FullName).WaitAsync(StartupTimeout, Ct);
            var threads = ThreadCpus(server.Process.Id);

            Assert.True(infer.ExitCode == 0, infer.Describe());
            Assert.Equal(x.Select(v => (2 * v) + 1), Npy.Read(Path.Combine(dir.FullName, "y.npy")).ToArray<float>());
            // Linux keeps the first 15 characters of a thread's name.
            var model = Assert.Single(threads, t => t.Name.StartsWith("onnx m #", StringComparison.Ordinal));
            Assert.Equal(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), model.Cpus);
            Assert.Contains(threads, t => t.Name.StartsWith(".NET TP Worker", StringComparison.Ordinal) && t.Cpus != model.Cpus);
        }
        finally
        {
            await server.KillAsync();
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Each thread of a process: its name and the CPUs it may run on (Linux <c>/proc</c>).</summary>
    private static List<(string Name, string Cpus)> ThreadCpus(int pid)
    {
        var threads = new List<(string, string)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                var cpus = File.ReadAllLines(Path.Combine(task, "status")).Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split('\t')[^1];
                threads.Add((name, cpus));
            }
            catch (IOException)
            {
                // The thread ended since the listing.
            }
        }

        return threads;
    }
}
