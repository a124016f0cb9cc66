using System.Collections.Concurrent;
using GraphPipe.Client;

namespace GraphPipe.FunctionalTests.LoadBalancing;

/// <summary>
/// Steady load on an add_mul stage (y = 2x + 1, or 4x + 3 through two of them): <c>workers</c> loops, each
/// sending one request, checking the answer and pausing briefly, until stopped. Counts what was sent and lost.
/// </summary>
internal sealed class SteadyLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly Task[] _workers;
    private int _sent;
    private int _lost;

    private SteadyLoad(GraphPipeClient client, int workers, Func<float, float> expected, TimeSpan pause)
    {
        _workers = Enumerable.Range(0, workers).Select(w => Task.Run(() => RunAsync(client, w, expected, pause))).ToArray();
    }

    public int Sent => Volatile.Read(ref _sent);

    public int Lost => Volatile.Read(ref _lost);

    /// <summary>"sent N, lost M" and the first few distinct errors.</summary>
    public string Report => $"sent {Sent}, lost {Lost}{(_errors.IsEmpty ? string.Empty : ": " + string.Join("; ", _errors.Distinct().Take(5)))}";

    public static SteadyLoad Start(GraphPipeClient client, Func<float, float> expected, int workers = 6, TimeSpan? pause = null)
        => new(client, workers, expected, pause ?? TimeSpan.FromMilliseconds(2));

    /// <summary>Waits until at least <paramref name="count"/> more requests have been answered (the load is flowing).</summary>
    public async Task WaitForAsync(int count)
    {
        var target = Sent + count;
        var deadline = DateTime.UtcNow + Limits.Step;
        while (Sent < target)
        {
            Assert.True(DateTime.UtcNow < deadline, $"load stalled: {Report}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers).WaitAsync(Limits.Step, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }

    private async Task RunAsync(GraphPipeClient client, int worker, Func<float, float> expected, TimeSpan pause)
    {
        var i = 0;
        while (!_stop.IsCancellationRequested)
        {
            var x = (worker * 1000) + (i++ % 1000);
            try
            {
                // Not cancelled by the stop: a request once sent is seen through to its answer.
                var y = await client.InferFloatsAsync([x, 1, 2, 3], [1, 4], cancellationToken: TestContext.Current.CancellationToken);
                if (y.Length != 4 || y[0] != expected(x) || y[3] != expected(3))
                {
                    Interlocked.Increment(ref _lost);
                    _errors.Enqueue($"wrong answer for x={x}: [{string.Join(",", y)}]");
                }
            }
            catch (GraphPipeException ex)
            {
                Interlocked.Increment(ref _lost);
                _errors.Enqueue(ex.Message);
            }

            Interlocked.Increment(ref _sent);
            try
            {
                await Task.Delay(pause, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
