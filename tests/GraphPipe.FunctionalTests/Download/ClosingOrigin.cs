using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GraphPipe.FunctionalTests.Download;

/// <summary>How <see cref="ClosingOrigin"/> fails a connection.</summary>
public enum EarlyClose
{
    /// <summary>Closes after reading the request, before any response (HttpClient itself retries these a few times).</summary>
    BeforeResponse,

    /// <summary>Sends the headers and half the body, then closes (nobody but the downloader retries these).</summary>
    MidBody,
}

/// <summary>
/// An HTTP/1.0 origin on 127.0.0.1 that closes the connection after every exchange and fails the first
/// <c>failFirst</c> connections by closing early (a premature close).
/// </summary>
internal sealed class ClosingOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _failFirst;
    private readonly Task _loop;
    private int _connections;

    private readonly EarlyClose _how;

    public ClosingOrigin(int failFirst, EarlyClose how)
    {
        _failFirst = failFirst;
        _how = how;
        _listener.Start();
        _loop = AcceptLoopAsync();
    }

    public string Url(string path) => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/{path}";

    public int Connections => Volatile.Read(ref _connections);

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

            _ = AnswerAsync(client, Interlocked.Increment(ref _connections));
        }
    }

    private async Task AnswerAsync(TcpClient client, int number)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                await stream.ReadAsync(buffer, _stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5), _stop.Token);
                var fail = number <= _failFirst;
                if (fail && _how == EarlyClose.BeforeResponse)
                {
                    return;
                }

                var head = Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\nContent-Length: {ImageServer.Png.Length}\r\n\r\n");
                await stream.WriteAsync(head, _stop.Token);
                await stream.WriteAsync(fail ? ImageServer.Png.AsMemory(0, ImageServer.Png.Length / 2) : ImageServer.Png, _stop.Token);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or TimeoutException or SocketException)
            {
                // The client went away; nothing to answer.
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
