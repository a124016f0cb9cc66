using System.Runtime.InteropServices;
using GraphPipe.Onnx;
using GraphPipe.Stages;
using GraphPipe.Tests;
using Microsoft.Extensions.Logging;
using static GraphPipe.UnitTests.TinyOnnx;

namespace GraphPipe.UnitTests;

/// <summary>
/// <see cref="OnnxModelStage"/>'s edges in process: argument checks, load failures, logging, cancellation of a
/// running model, outputs without a GraphPipe type, and zero-copy inputs (aligned bytes are handed to ONNX
/// Runtime in place; unaligned ones are copied into a pooled buffer that goes back to the pool).
/// </summary>
public sealed class OnnxModelStageLifecycleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "models", name);

    private static OnnxModelStage Load(string path) => new(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1 });

    private sealed class Logger(LogLines lines) : ILogger<OnnxModelStage>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Log(logLevel, eventId, state, exception, formatter);
    }

    [Fact]
    public void Constructor_NullOptions_ArgumentNullNamingOptions()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => new OnnxModelStage(null!));

        Assert.Equal("options", ex.ParamName);
    }

    [Fact]
    public async Task InferAsync_NullRequest_ArgumentNullNamingRequest()
    {
        using var stage = Load(ModelPath("add_mul.onnx"));

        var ex = await Assert.ThrowsAsync<ArgumentNullException>(() => stage.InferAsync(null!, Ct).AsTask());

        Assert.Equal("request", ex.ParamName);
    }

    [Fact]
    public void Constructor_WithLogger_LogsTheLoadedModel()
    {
        var lines = new LogLines();
        var path = ModelPath("add_mul.onnx");

        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = path, IntraOpThreads = 1, EngineCount = 2 }, new Logger(lines));

        var line = Assert.Single(lines.Lines);
        Assert.Equal($"Information: Loaded ONNX model {path} with 2 session(s), 1 intra-op thread(s) (0 = auto), execution provider Cpu, CPUs any", line);
    }

    [Fact]
    public void Constructor_CudaOnTheCpuBuild_NotSupportedSayingWhatIsMissing()
    {
        Assert.SkipWhen(OnnxProviders.CudaBuilt(), "this ONNX Runtime has the CUDA provider");

        var ex = Assert.Throws<NotSupportedException>(() => new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), ExecutionProvider = OnnxExecutionProvider.Cuda }));

        Assert.StartsWith("execution provider 'cuda' is not available: this ONNX Runtime has no CUDAExecutionProvider", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_CpuLoadFailureWhoseMessageMentionsAProvider_InvalidDataNotACudaError()
    {
        // ONNX Runtime's message names the file, so "provider" is in it; on the CPU that is still the model's failure.
        var directory = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"graphpipe-provider-{Guid.NewGuid():N}"));
        var path = Path.Combine(directory.FullName, "execution-provider-cuda.onnx");
        System.IO.File.WriteAllBytes(path, [0xFF, 0x00, 0x13, 0x37]);
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => Load(path));

            Assert.StartsWith($"ONNX Runtime could not load '{path}'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Metadata_ModelVersionZero_ReportedAsOne()
    {
        using var file = new TinyOnnx.File(Model([new("x", FloatType, "N", 2)], [new("y", FloatType, "N", 2)], [new("Identity", ["x"], ["y"])], version: 0));
        using var stage = Load(file.Path);

        Assert.Equal("1", stage.Metadata.Version);
    }

    [Fact]
    public async Task InferAsync_OutputTypeWithoutGraphPipeEquivalent_NotSupportedNamingTheType()
    {
        using var file = new TinyOnnx.File(Model([new("x", FloatType, "N", 2)], [new("h", BFloat16Type, "N", 2)], [new("Cast", ["x"], ["h"], IntAttribute("to", BFloat16Type))]));
        using var stage = Load(file.Path);
        var request = new StageRequest(["x"], [Tensor.Create<float>([1f, 2f], 1, 2)], ["h"], string.Empty);

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => stage.InferAsync(request, Ct).AsTask().WaitAsync(Wait, Ct));

        Assert.Equal(TensorType.Null, stage.Metadata.Outputs[0].Type);
        Assert.Equal("output element type BFloat16 has no GraphPipe equivalent", ex.Message);
    }

    private const int Side = 800, Products = 150;

    /// <summary>150 products of 800x800 matrices in a row (seconds of work): long enough to cancel while it runs (ONNX Runtime stops between nodes).</summary>
    private static byte[] SlowModel()
    {
        var nodes = Enumerable.Range(1, Products).Select(i => new Node("MatMul", [i == 1 ? "x" : $"y{i - 1}", "x"], [i == Products ? "y" : $"y{i}"])).ToArray();
        return Model([new("x", FloatType, Side, Side)], [new("y", FloatType, Side, Side)], nodes);
    }

    [Fact]
    public async Task InferAsync_CancelledWhileTheModelRuns_StopsWithOperationCanceled()
    {
        using var file = new TinyOnnx.File(SlowModel());
        using var stage = Load(file.Path);
        var request = new StageRequest(["x"], [Tensor.Create<float>(new float[Side * Side], Side, Side)], ["y"], string.Empty);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var started = System.Diagnostics.Stopwatch.StartNew();
        cancel.CancelAfter(TimeSpan.FromMilliseconds(100));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stage.InferAsync(request, cancel.Token).AsTask().WaitAsync(Wait, Ct));

        Assert.Equal("inference was cancelled", ex.Message);
        Assert.Equal(cancel.Token, ex.CancellationToken);
        Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(ex.InnerException);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task InferAsync_CancelledWhileWaitingForTheSession_LeavesAtOnceWhileTheRunGoesOn()
    {
        using var file = new TinyOnnx.File(SlowModel());
        using var stage = Load(file.Path);
        var request = new StageRequest(["x"], [Tensor.Create<float>(new float[Side * Side], Side, Side)], ["y"], string.Empty);
        using var stopFirst = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var stopSecond = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = stage.InferAsync(request, stopFirst.Token).AsTask();
        var second = stage.InferAsync(request, stopSecond.Token).AsTask();

        await stopSecond.CancelAsync();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Wait, Ct));
        var firstStillRunning = !first.IsCompleted;
        await stopFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Wait, Ct));

        Assert.Equal(stopSecond.Token, ex.CancellationToken);
        Assert.True(firstStillRunning, "the queued request's cancellation ended the running one too");
    }

    [Fact]
    public async Task Constructor_CpusGiven_TheSessionThreadRunsOnThemAndTheCallerKeepsItsOwn()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Environment.ProcessorCount >= 2, "CPU pinning is Linux only, and needs 2 CPUs to show apart");
        var cpu = Environment.ProcessorCount - 1;
        // Linux keeps 15 characters of a thread's name: "onnx " + 8 + " #0" fits.
        var name = Guid.NewGuid().ToString("N")[..8];
        var lines = new LogLines();
        var callerBefore = ThreadCpus("/proc/thread-self");
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), Name = name, Cpus = [cpu] }, new Logger(lines));
        var callerAfter = ThreadCpus("/proc/thread-self");
        var request = new StageRequest(["x"], [Tensor.Create<float>([1f, 2f, 3f, 4f], 1, 4)], ["y"], string.Empty);

        using var result = await stage.InferAsync(request, Ct);
        var modelThread = Directory.EnumerateDirectories("/proc/self/task").Single(t => System.IO.File.ReadAllText(Path.Combine(t, "comm")).StartsWith($"onnx {name}", StringComparison.Ordinal));

        Assert.Equal([3f, 5f, 7f, 9f], MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
        Assert.Equal(cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), ThreadCpus(modelThread));
        // The thread that made the stage keeps its CPUs, and so does the one that goes on after the run (the pool's).
        Assert.Equal(callerBefore, callerAfter);
        Assert.Equal(callerBefore, ThreadCpus("/proc/thread-self"));
        // IntraOpThreads 0 with CPUs given: one thread per CPU, not one per core of the machine.
        Assert.Contains(lines.Lines, l => l.Contains($"1 intra-op thread(s) (0 = auto), execution provider Cpu, CPUs {cpu}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Constructor_CpusWithSeveralIntraOpThreads_OnnxRuntimeTakesTheAffinitiesAndRuns()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "CPU pinning is Linux only");
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), IntraOpThreads = 3, Cpus = [0] });
        var request = new StageRequest(["x"], [Tensor.Create<float>([1f, 2f, 3f, 4f], 1, 4)], ["y"], string.Empty);

        using var result = await stage.InferAsync(request, Ct);

        Assert.Equal([3f, 5f, 7f, 9f], MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
    }

    [Fact]
    public void Constructor_CpuTheProcessCannotUse_ValidationErrorNamingItAndTheAllowedOnes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "CPU pinning is Linux only");

        var ex = Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() => new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), Cpus = [0, 1023] }));

        Assert.StartsWith("Cpus: CPU 1023 is not one this process may run on (allowed: 0", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["Cpus"], ex.ValidationResult.MemberNames);
    }

    /// <summary>This process's threads named for the stage <paramref name="name"/> (Linux keeps 15 characters of a name).</summary>
    private static IEnumerable<string> ModelThreads(string name) => Directory.EnumerateDirectories("/proc/self/task").Where(t =>
    {
        try
        {
            return System.IO.File.ReadAllText(Path.Combine(t, "comm")).StartsWith($"onnx {name}", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // ended since the listing
        }
    });

    /// <summary>The CPUs a thread may run on (<c>Cpus_allowed_list</c> in its <c>/proc</c> directory's <c>status</c>).</summary>
    private static string ThreadCpus(string task) => System.IO.File.ReadAllLines($"{task}/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split('\t')[^1];

    [Fact]
    public async Task Dispose_FromTheRunsContinuationOnItsSessionThread_EndsWithoutHangingAndLaterCallsFail()
    {
        // What follows a run continues on the session thread; it may dispose the stage (the last request of an
        // unloaded version). That thread cannot join itself: it must end by itself, and never crash the process.
        var x = new float[100_000 * 4];
        var request = new StageRequest(["x"], [Tensor.Create<float>(x, 100_000, 4)], ["y"], string.Empty);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var name = "d" + Guid.NewGuid().ToString("N")[..8];
            var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), IntraOpThreads = 1, Name = name });
            var disposedOn = await stage.InferAsync(request, Ct).AsTask().ContinueWith(
                run =>
                {
                    run.Result.Dispose();
                    stage.Dispose();
                    return Thread.CurrentThread.Name;
                },
                Ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).WaitAsync(Wait, Ct);
            if (disposedOn?.StartsWith($"onnx {name}", StringComparison.Ordinal) != true)
            {
                stage.Dispose();
                continue; // the run ended before the continuation was attached: try again
            }

            var after = await Assert.ThrowsAsync<ObjectDisposedException>(() => stage.InferAsync(request, Ct).AsTask().WaitAsync(Wait, Ct));
            Assert.Equal(nameof(OnnxModelStage), after.ObjectName);
            if (OperatingSystem.IsLinux())
            {
                // The session thread goes back to its loop and ends (a throw there would end the process instead).
                var ended = System.Diagnostics.Stopwatch.StartNew();
                while (ModelThreads(name).Any() && ended.Elapsed < Wait)
                {
                    await Task.Delay(10, Ct);
                }

                Assert.Empty(ModelThreads(name));
            }

            return;
        }

        Assert.Fail("in 20 attempts the run never ended after its continuation was attached");
    }

    [Fact]
    public async Task Dispose_RequestQueuedBehindARun_FailsAsUnloadedAtOnceAndTheRunFinishesFirst()
    {
        using var file = new TinyOnnx.File(SlowModel());
        var stage = Load(file.Path);
        var request = new StageRequest(["x"], [Tensor.Create<float>(new float[Side * Side], Side, Side)], ["y"], string.Empty);
        using var stopFirst = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var first = stage.InferAsync(request, stopFirst.Token).AsTask();
        // The session thread takes the first request at once; the model then runs for seconds. Half a second makes
        // sure it is running, not still queued (a queued one would be failed by the dispose like the second).
        await Task.Delay(500, Ct);
        var second = stage.InferAsync(request, Ct).AsTask();

        // Dispose waits for the running model; the queued request must not wait with it.
        var disposed = Task.Run(stage.Dispose, Ct);
        var ex = await Assert.ThrowsAsync<ObjectDisposedException>(() => second.WaitAsync(Wait, Ct));
        var disposedBeforeTheRunEnded = disposed.IsCompleted;
        await stopFirst.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Wait, Ct));
        await disposed.WaitAsync(Wait, Ct);

        Assert.Equal(nameof(OnnxModelStage), ex.ObjectName);
        Assert.False(disposedBeforeTheRunEnded, "the sessions were disposed while a run was still going");
    }

    public static TheoryData<string, int> Models => new() { { "add_mul.onnx", 1 }, { "add_mul.onnx", 3 }, { "fixed_batch.onnx", 3 } };

    private static float[] Expected(string model, float[] x) => model == "add_mul.onnx" ? [.. x.Select(v => (v * 2) + 1)] : [.. x.Select(v => Math.Max(v, 0f))];

    /// <summary>A stage with a name of its own, so its session threads ("onnx NAME #i") can be told from other tests'.</summary>
    private static (OnnxModelStage Stage, PoolRentListener Rents) LoadWatched(string model)
    {
        var name = "pool-" + Guid.NewGuid().ToString("N");
        var rents = new PoolRentListener($"onnx {name} ");
        return (new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath(model), IntraOpThreads = 1, Name = name }), rents);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task InferAsync_AlignedInput_PassedInPlaceWithoutAPooledCopy(string model, int rows)
    {
        var (stage, rents) = LoadWatched(model);
        using var _ = stage;
        using var __ = rents;
        var x = Enumerable.Range(0, rows * 4).Select(i => (i * 1.25f) - 6).ToArray();
        var request = new StageRequest(["x"], [Tensor.Create<float>(x, rows, 4)], ["y"], string.Empty);

        using var result = await stage.InferAsync(request, Ct);
        rents.Dispose(); // what runs next (this test) may run on the session thread: not the stage's rents

        Assert.Equal(Expected(model, x), MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
        Assert.DoesNotContain(rents.Rented, r => r.Size >= rows * 16);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task InferAsync_UnalignedInput_CopiedIntoAPooledBufferThatGoesBack(string model, int rows)
    {
        var (stage, rents) = LoadWatched(model);
        using var _ = stage;
        using var __ = rents;
        var x = Enumerable.Range(0, rows * 4).Select(i => (i * 1.25f) - 6).ToArray();
        var backing = new byte[(x.Length * 4) + 1];
        MemoryMarshal.AsBytes(x.AsSpan()).CopyTo(backing.AsSpan(1));
        var request = new StageRequest(["x"], [Tensor.FromBytes(TensorType.Float32, [rows, 4], backing.AsMemory(1, x.Length * 4))], ["y"], string.Empty);

        using var result = await stage.InferAsync(request, Ct);
        rents.Dispose(); // what runs next (this test) may run on the session thread: not the stage's rents

        Assert.Equal(Expected(model, x), MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span).ToArray());
        var copy = Assert.Single(rents.Rented, r => r.Size >= rows * 16);
        Assert.Contains(copy.Id, rents.Returned);
    }

    [Fact]
    public async Task InferAsync_ConcurrentRequests_RunOnTheStagesOwnThreadsNotThePool()
    {
        var name = "own-" + Guid.NewGuid().ToString("N");
        using var stage = new OnnxModelStage(new OnnxModelOptions { ModelPath = ModelPath("add_mul.onnx"), IntraOpThreads = 1, EngineCount = 2, Name = name });
        using var rents = new PoolRentListener($"onnx {name} ");
        // Unaligned, so each run rents its copy on the thread it runs on; the listener sees only the stage's threads.
        var backing = new byte[17];
        var request = new StageRequest(["x"], [Tensor.FromBytes(TensorType.Float32, [1, 4], backing.AsMemory(1, 16))], ["y"], string.Empty);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => stage.InferAsync(request, Ct).AsTask()));
        rents.Dispose();
        foreach (var r in results) r.Dispose();

        Assert.Equal(8, rents.Rented.Count(r => r.Size >= 16));
    }
}
