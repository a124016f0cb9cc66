using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace GraphPipe.FunctionalTests.Caching;

/// <summary>A throwaway Debian <c>redis-server</c> on a free loopback port, with no persistence; stopped on dispose.</summary>
internal sealed class RedisServer : IDisposable
{
    private const string ServerPath = "/usr/bin/redis-server";
    private readonly Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync(CancellationToken cancellationToken)
    {
        Assert.SkipUnless(File.Exists(ServerPath), "redis-server is not installed (.ci/run installs Debian's redis-server)");
        var port = LoopbackPorts.Free();
        var info = new ProcessStartInfo(ServerPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, port);
        var deadline = DateTime.UtcNow + Limits.Step;
        while (true)
        {
            try
            {
                if (await server.PingAsync(cancellationToken))
                {
                    return server;
                }
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
            }

            if (DateTime.UtcNow >= deadline || process.HasExited)
            {
                server.Dispose();
                throw new InvalidOperationException($"redis-server did not answer on port {port}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port, cancellationToken).AsTask().WaitAsync(Limits.Step, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer, cancellationToken).AsTask().WaitAsync(Limits.Step, cancellationToken);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}

/// <summary>A TCP listener on loopback that accepts connections and never says a word: a Redis that hangs.</summary>
internal sealed class SilentListener : IDisposable
{
    private readonly TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
    private readonly List<Socket> _accepted = [];
    private readonly CancellationTokenSource _stop = new();

    public SilentListener()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public string Configuration => $"127.0.0.1:{((System.Net.IPEndPoint)_listener.LocalEndpoint).Port}";

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_accepted) _accepted.Add(socket);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_accepted)
        {
            foreach (var socket in _accepted) socket.Dispose();
        }
    }
}
