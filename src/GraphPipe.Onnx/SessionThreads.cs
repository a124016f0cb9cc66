using System.Collections.Concurrent;
using GraphPipe.Stages;
using Microsoft.ML.OnnxRuntime;

namespace GraphPipe.Onnx;

/// <summary>
/// One dedicated thread per ONNX Runtime session (Triton's model instance), all fed from one first-come queue.
/// </summary>
/// <remarks>
/// ONNX Runtime's <c>Run</c> blocks its thread for the whole model run (tens to hundreds of milliseconds). On
/// thread-pool threads that starved Kestrel on small machines: with the server on one core and sixteen clients,
/// <c>/control/is_alive</c> took 41 ms (median) and up to 350 ms while the pool waited for the runtime to add
/// threads, and requests arriving during a batch's run were read late, so batches left half-full (5.2-5.9 rows of
/// 8). On threads of their own the runs leave the pool to the server. The cost is one thread hand-off per run
/// (two when the model is pinned to CPUs: see <see cref="SessionWork"/>).
/// </remarks>
internal sealed class SessionThreads : IDisposable
{
    private readonly ConcurrentQueue<SessionWork> _queue = new();
    private readonly SemaphoreSlim _queued = new(0);
    private readonly Func<InferenceSession, SessionWork, StageResult> _run;
    private readonly Thread[] _threads;
    private volatile bool _stopping;

    /// <summary>Starts a thread per session, each pinned to <paramref name="cpus"/> when any are given; throws if one cannot be pinned.</summary>
    public SessionThreads(IReadOnlyList<InferenceSession> sessions, string name, IReadOnlyCollection<int> cpus, Func<InferenceSession, SessionWork, StageResult> run)
    {
        _run = run;
        _threads = new Thread[sessions.Count];
        var pinErrors = new int[sessions.Count];
        using var started = new CountdownEvent(sessions.Count);
        for (var i = 0; i < _threads.Length; i++)
        {
            var (session, index) = (sessions[i], i);
            _threads[i] = new Thread(() =>
            {
                pinErrors[index] = cpus.Count == 0 ? 0 : CpuAffinity.PinCurrentThread(cpus);
                started.Signal();
                if (pinErrors[index] == 0)
                {
                    Serve(session);
                }
            }) { IsBackground = true, Name = $"onnx {name} #{i}" };
            // Not Start: the stage's constructor may run inside a request, whose async-locals (its trace) the thread must not keep.
            _threads[i].UnsafeStart();
        }

        started.Wait();
        if (pinErrors.FirstOrDefault(e => e != 0) is var errno and not 0)
        {
            Dispose();
            throw new InvalidOperationException($"could not pin the model's threads to CPUs {string.Join(',', cpus)}: sched_setaffinity errno {errno}");
        }
    }

    /// <summary>Runs <paramref name="work"/> on the next free session; cancelled at once while it waits, through the run's terminate flag once running.</summary>
    public async ValueTask<StageResult> RunAsync(SessionWork work)
    {
        if (_stopping)
        {
            throw Unloaded();
        }

        work.CancellationToken.ThrowIfCancellationRequested();
        _queue.Enqueue(work);
        _queued.Release();
        if (_stopping && work.TryStart())
        {
            // Disposed between the check above and the enqueue: the threads may be gone, so nobody else would answer.
            work.Fail(Unloaded());
        }
        using var registration = work.CancellationToken.UnsafeRegister(static w => ((SessionWork)w!).TryCancelQueued(), work);
        // Stryker disable once Boolean : ConfigureAwait(true) behaves the same here (the server runs without a synchronization context)
        return await work.Task.ConfigureAwait(false);
    }

    private static ObjectDisposedException Unloaded() => new(nameof(OnnxModelStage), "the model's sessions are disposed (the model was unloaded)");

    private void Serve(InferenceSession session)
    {
        while (true)
        {
            _queued.Wait();
            if (!_queue.TryDequeue(out var work))
            {
                // Only the stop releases the semaphore without an item.
                return;
            }

            if (!work.TryStart())
            {
                continue; // cancelled while it waited
            }

            try
            {
                work.Finish(_run(session, work));
            }
            catch (Exception ex)
            {
                work.Fail(ex);
            }
        }
    }

    /// <summary>Lets each thread finish its run and waits for it; work still queued fails as shut down. The sessions are the caller's to dispose after.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        while (_queue.TryDequeue(out var left))
        {
            if (left.TryStart())
            {
                left.Fail(Unloaded());
            }
        }

        _queued.Release(_threads.Length);
        foreach (var thread in _threads)
        {
            // A request's continuation runs on its session thread and may dispose the stage (the last request of an
            // unloaded version): that thread ends by itself once it is back in its loop.
            if (thread != Thread.CurrentThread)
            {
                thread.Join();
            }
        }

        // The semaphore is not disposed: a session thread disposing the stage goes back to waiting on it.
    }
}
