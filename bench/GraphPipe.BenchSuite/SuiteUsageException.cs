namespace GraphPipe.BenchSuite;

/// <summary>A bad flag value: printed as one line, exit code 2 (as the graphpipe CLI treats usage errors).</summary>
internal sealed class SuiteUsageException(string message) : Exception(message);
