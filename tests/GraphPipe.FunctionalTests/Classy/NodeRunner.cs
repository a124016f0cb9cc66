using System.Diagnostics;

namespace GraphPipe.FunctionalTests.Classy;

/// <summary>Runs Node (Debian's <c>node</c>) on the JS client in <c>clients/js</c> and collects what it prints.</summary>
internal static class NodeRunner
{
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GraphPipe.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root (GraphPipe.slnx) not found above " + AppContext.BaseDirectory);
    }

    public static string ClientDirectory => Path.Combine(RepoRoot(), "clients", "js");

    /// <summary>Why the JS client's tests cannot run here, or null when node and its dependencies are installed.</summary>
    public static string? MissingPremise()
    {
        if (FindNode() is null)
        {
            return "needs node >= 20 on PATH (.ci/run installs Debian's nodejs)";
        }

        return File.Exists(Path.Combine(ClientDirectory, "node_modules", "flatbuffers", "package.json"))
            ? null
            : "needs clients/js/node_modules: run 'npm ci' in clients/js (.ci/run does)";
    }

    public static string? FindNode()
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "node"))
            .FirstOrDefault(File.Exists);

    public static async Task<CliResult> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(FindNode()!, args)
        {
            WorkingDirectory = ClientDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {string.Join(' ', args)} ran past {timeout}:\n{await stdout}\n{await stderr}");
        }

        return new CliResult(process.ExitCode, await stdout, await stderr);
    }
}
