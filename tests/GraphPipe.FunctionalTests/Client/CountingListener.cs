using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GraphPipe.FunctionalTests.Client;

/// <summary>
/// A TCP listener on 127.0.0.1 that counts the connections it gets, reads the first request line, and
/// answers 502 then closes: it stands in for an HTTP proxy that must never be reached.
/// </summary>
internal sealed class CountingListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _requestLines = [];
    private int _connections;

    public CountingListener()
    {
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The first line of every request received (e.g. <c>POST http://metadata.google.internal/ HTTP/1.1</c>).</summary>
    public IReadOnlyList<string> RequestLines
    {
        get { lock (_requestLines) return [.. _requestLines]; }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = AnswerAsync(client);
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                var read = await stream.ReadAsync(buffer, _stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5), _stop.Token);
                var text = Encoding.ASCII.GetString(buffer, 0, read);
                lock (_requestLines) _requestLines.Add(text.Split("\r\n")[0]);
                await stream.WriteAsync("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or TimeoutException or SocketException)
            {
                // The proxy's answer does not matter; being reached is what the tests count.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop.WaitAsync(Limits.Step);
        _stop.Dispose();
    }
}
