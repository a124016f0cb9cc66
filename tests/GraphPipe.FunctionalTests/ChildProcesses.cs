using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace GraphPipe.FunctionalTests;

/// <summary>What a child process that ran to completion left behind.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => Lines(Stdout);

    public string[] StderrLines => Lines(Stderr);

    public string Describe() => $"exit code {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>
/// A started <c>dotnet &lt;dll&gt; args</c> child process (graphpipe, classy) whose output is collected line by line.
/// The caller's GP_* variables are kept out of it (every serve option also reads one); extra variables go in on top.
/// </summary>
internal sealed partial class CliProcess : IDisposable
{
    private readonly string _name;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _servingUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CliProcess(ProcessStartInfo info, string name)
    {
        _name = name;
        Process = new Process { StartInfo = info };
        Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _servingUrl.TrySetException(new InvalidOperationException($"{_name} closed its output before serving.\nstdout:\n{Stdout}\nstderr:\n{Stderr}"));
                return;
            }

            lock (_stdout) _stdout.AppendLine(e.Data);
            if (ServingLine().Match(e.Data) is { Success: true } match)
            {
                ServingName = match.Groups["name"].Value;
                _servingUrl.TrySetResult(match.Groups["url"].Value);
            }
        };
        Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr) _stderr.AppendLine(e.Data);
            }
        };
        Process.Start();
        Process.StandardInput.Close();
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public static string GraphPipeDll => Path.Combine(AppContext.BaseDirectory, "graphpipe.dll");

    public static string ClassyDll => Path.Combine(AppContext.BaseDirectory, "classy.dll");

    public Process Process { get; }

    /// <summary>The URL from the first "graphpipe: serving 'NAME' on URL" line (any NAME); faults if stdout closes first.</summary>
    public Task<string> ServingUrl => _servingUrl.Task;

    /// <summary>The NAME from that line, once <see cref="ServingUrl"/> has completed.</summary>
    public string? ServingName { get; private set; }

    /// <summary>Waits for the serving line, checks that it names <paramref name="name"/>, and returns its URL.</summary>
    public async Task<Uri> ServingAddressAsync(string name, TimeSpan timeout)
    {
        var url = await ServingUrl.WaitAsync(timeout, TestContext.Current.CancellationToken);
        Assert.Equal(name, ServingName);
        return new Uri(url);
    }

    public string Stdout
    {
        get { lock (_stdout) return _stdout.ToString(); }
    }

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> in the test output directory.</summary>
    public static CliProcess Start(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("GP_", StringComparison.Ordinal)).ToArray())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new CliProcess(info, Path.GetFileNameWithoutExtension(dll));
    }

    /// <summary>Runs <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> to completion (killing it on timeout or when the test gives up).</summary>
    public static async Task<CliResult> RunAsync(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var ct = TestContext.Current.CancellationToken;
        using var child = Start(dll, args, environment);
        try
        {
            await child.Process.WaitForExitAsync(ct).WaitAsync(timeout, ct);
            // WaitForExitAsync also waits for the redirected streams to reach end of file.
            return new CliResult(child.Process.ExitCode, child.Stdout, child.Stderr);
        }
        finally
        {
            await child.KillAsync();
        }
    }

    public async Task KillAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            await Process.WaitForExitAsync(CancellationToken.None).WaitAsync(Limits.Step, CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }
    }

    /// <summary>Kills the child if it still runs (a test that forgot <see cref="KillAsync"/> must not leave a server behind), then releases it.</summary>
    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        Process.Dispose();
    }

    [GeneratedRegex(@"^graphpipe: serving '(?<name>[^']+)' on (?<url>https?://127\.0\.0\.1:\d+)$")]
    private static partial Regex ServingLine();

    /// <summary>The dotnet host running this test (so the child uses the same runtime), else the one on PATH.</summary>
    private static string DotnetHost()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        if (Environment.ProcessPath is { } processPath && Path.GetFileName(processPath) == exe)
        {
            return processPath;
        }

        // The shared framework lives in <root>/shared/Microsoft.NETCore.App/<version>/.
        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var candidate = Path.Combine(root, exe);
        return File.Exists(candidate) ? candidate : exe;
    }
}
