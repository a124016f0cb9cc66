using System.Runtime.InteropServices;
using System.Text;
using GraphPipe.Server;
using GraphPipe.Server.Serving;
using GraphPipe.Tests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GraphPipe.UnitTests;

/// <summary>
/// The front door's bounded body reader, driven in process: a <see cref="DefaultHttpContext"/> whose body is a
/// scripted stream (chunk sizes, stalls, failures), a fake clock for the read deadline. Over real Kestrel the
/// same limits are covered by the functional tests (FrontDoorBoundsTests, ServingHostTests).
/// </summary>
public sealed class RequestBodyReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Serves <c>data</c> at most <c>chunk</c> bytes a read, records how much room each read was offered, and can stall or fail after some bytes.</summary>
    private sealed class ScriptedBody(byte[] data, int chunk = int.MaxValue) : Stream
    {
        private int _position;

        public List<int> Offered { get; } = [];

        /// <summary>The arrays behind the buffers each read was given.</summary>
        public List<byte[]> Arrays { get; } = [];

        public int Consumed => _position;

        /// <summary>After this many bytes, reads wait for the token (or <see cref="Release"/>) instead of returning.</summary>
        public int StallAfter { get; init; } = int.MaxValue;

        /// <summary>After this many bytes, a read throws this.</summary>
        public Exception? FailWith { get; init; }

        public int FailAfter { get; init; } = int.MaxValue;

        /// <summary>Ignore the read's token while stalled (the test ends the stall through <see cref="Release"/>).</summary>
        public bool IgnoreToken { get; init; }

        public TaskCompletionSource Stalled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completing it runs the stalled read's continuation (and the reader's) on the completing thread.</summary>
        public TaskCompletionSource Release { get; } = new();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Offered.Add(buffer.Length);
            if (MemoryMarshal.TryGetArray<byte>(buffer, out var segment) && !Arrays.Contains(segment.Array!))
            {
                Arrays.Add(segment.Array!);
            }
            if (_position >= FailAfter && FailWith is not null)
            {
                throw FailWith;
            }

            if (_position >= StallAfter)
            {
                Stalled.TrySetResult();
                if (IgnoreToken)
                {
                    await Release.Task.ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
            }

            var n = Math.Min(Math.Min(chunk, buffer.Length), Math.Min(data.Length, StallAfter) - _position);
            data.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the reader reads asynchronously");

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class SizeFeature(bool readOnly) : IHttpMaxRequestBodySizeFeature
    {
        private long? _max = 30_000_000;

        public bool IsReadOnly => readOnly;

        public long? MaxRequestBodySize
        {
            get => _max;
            set => _max = readOnly ? throw new InvalidOperationException("read-only (the body is being read)") : value;
        }
    }

    private sealed class Logger(LogLines lines) : ILogger<RequestBodyReader>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Log(logLevel, eventId, state, exception, (s, e) => $"{eventId.Name} {formatter(s, e)}");
    }

    private sealed record Run(PooledBody? Body, int Status, string Text, DefaultHttpContext Context);

    /// <summary>
    /// Takes one array of each size out of this thread's slot of the pool, so that an array the reader returns
    /// (on this thread: the scripted body completes synchronously) is the next one rented there.
    /// </summary>
    private sealed class PoolProbe : IDisposable
    {
        private readonly List<byte[]> _held;

        public PoolProbe(params int[] sizes) => _held = [.. sizes.Select(BodyBuffers.Rent)];

        /// <summary>True when the next array of this size the pool hands out is <paramref name="array"/>.</summary>
        public static bool CameBack(byte[] array)
        {
            var again = BodyBuffers.Rent(array.Length);
            BodyBuffers.Return(again);
            return ReferenceEquals(again, array);
        }

        public void Dispose() => _held.ForEach(BodyBuffers.Return);
    }

    private static byte[] Bytes(int length) => Enumerable.Range(0, length).Select(i => (byte)((i * 31) + (i >> 8))).ToArray();

    private static (RequestBodyReader Reader, LogLines Lines) Reader(long max, TimeSpan? timeout = null, TimeProvider? time = null)
    {
        var lines = new LogLines();
        var options = new GraphPipeServerOptions { MaxRequestBytes = max, BodyReadTimeout = timeout ?? TimeSpan.FromSeconds(30) };
        return (new RequestBodyReader(Options.Create(options), time ?? TimeProvider.System, new Logger(lines)), lines);
    }

    private static DefaultHttpContext Context(Stream body, long? declared = null, CancellationToken aborted = default)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = body;
        context.Request.ContentLength = declared;
        context.Response.Body = new MemoryStream();
        context.RequestAborted = aborted;
        return context;
    }

    private static async Task<Run> ReadAsync(RequestBodyReader reader, DefaultHttpContext context)
    {
        var body = await reader.ReadAsync(context, "s").AsTask().WaitAsync(Wait, Ct);
        return Finish(body, context);
    }

    private static Run Finish(PooledBody? body, DefaultHttpContext context)
        => new(body, context.Response.StatusCode, Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()), context);

    [Fact]
    public async Task ReadAsync_UndeclaredBodyInSmallChunks_ReturnsEveryByteInOrder()
    {
        var data = Bytes(1000);
        var (reader, _) = Reader(max: 4096);

        var run = await ReadAsync(reader, Context(new ScriptedBody(data, chunk: 7)));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(data, body.Memory.ToArray());
        Assert.Equal((200, ""), (run.Status, run.Text));
    }

    [Fact]
    public async Task ReadAsync_UndeclaredBodyGrowingPastSeveralBuffers_KeepsEveryByteAndDoublesTheBuffer()
    {
        var data = Bytes(300_000);
        var stream = new ScriptedBody(data, chunk: 50_000);
        var (reader, _) = Reader(max: 64L * 1024 * 1024);

        var run = await ReadAsync(reader, Context(stream));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(data, body.Memory.ToArray());
        // 64 KiB + 1 rounds to 128 KiB, then 256 KiB, then 512 KiB: the buffer doubles, never jumps to the limit.
        Assert.True(stream.Offered.Max() < 1024 * 1024, $"offered up to {stream.Offered.Max()} bytes for a 300 KB body");
        Assert.Equal(128 * 1024, stream.Offered[0]);
    }

    [Fact]
    public async Task ReadAsync_DeclaredLength_FirstReadOfferedRoomForTheWholeBodyAndOneMoreByte()
    {
        var data = Bytes(200_000);
        var stream = new ScriptedBody(data);
        var (reader, _) = Reader(max: 64L * 1024 * 1024);

        var run = await ReadAsync(reader, Context(stream, declared: data.Length));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(data.Length, body.Length);
        // One buffer sized from Content-Length (not from the 64 MiB limit): one read takes the body, the next sees its end.
        Assert.InRange(stream.Offered[0], data.Length + 1, 2 * data.Length);
        Assert.Equal(2, stream.Offered.Count);
    }

    [Fact]
    public async Task ReadAsync_DeclaredLengthAtTheLimit_FirstReadOfferedMoreThanTheLimit()
    {
        // 128 KiB: a power of two, so a buffer of exactly the limit (no room to see the end) would come back from the pool as is.
        const int max = 128 * 1024;
        var stream = new ScriptedBody(Bytes(max));
        var (reader, _) = Reader(max: max);

        var run = await ReadAsync(reader, Context(stream, declared: max));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(max, body.Length);
        Assert.True(stream.Offered[0] > max, $"first read offered {stream.Offered[0]} bytes");
        Assert.Equal(2, stream.Offered.Count);
    }

    [Fact]
    public async Task ReadAsync_UndeclaredBodyOfExactlyTheLimitFillingTheFirstBuffer_ReturnsIt()
    {
        // The first buffer (64 KiB + 1, pooled as 128 KiB) is exactly the limit: full is not yet over it.
        const int max = 128 * 1024;
        var data = Bytes(max);
        var (reader, _) = Reader(max: max);

        var run = await ReadAsync(reader, Context(new ScriptedBody(data)));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(data, body.Memory.ToArray());
    }

    [Fact]
    public async Task ReadAsync_UndeclaredSmallBody_FirstReadOffered64KiBRoundedUp()
    {
        var stream = new ScriptedBody(Bytes(10));
        var (reader, _) = Reader(max: 64L * 1024 * 1024);

        using var body = (await ReadAsync(reader, Context(stream))).Body;

        // No Content-Length: 64 KiB (+1), whatever the limit; the shared pool hands out 128 KiB for that.
        Assert.Equal(128 * 1024, stream.Offered[0]);
    }

    [Fact]
    public async Task ReadAsync_DeclaredLengthSmall_BufferSizedFromItNotFromTheLimit()
    {
        var stream = new ScriptedBody(Bytes(1000));
        var (reader, _) = Reader(max: 64L * 1024 * 1024);

        using var body = (await ReadAsync(reader, Context(stream, declared: 1000))).Body;

        Assert.Equal(1024, stream.Offered[0]);
    }

    [Fact]
    public async Task ReadAsync_DeclaredLengthOneOverTheLimit_Writes413WithTheSizeWithoutReading()
    {
        var stream = new ScriptedBody(Bytes(101));
        var (reader, _) = Reader(max: 100);
        using var rejected = new MetricRecorder("GraphPipe.Server", "graphpipe.server.rejected", "reason");

        var run = await ReadAsync(reader, Context(stream, declared: 101));

        Assert.Null(run.Body);
        Assert.Equal(413, run.Status);
        Assert.Equal("[s] request body of 101 bytes exceeds the limit of 100 bytes (MaxRequestBytes)", run.Text);
        Assert.Empty(stream.Offered);
        Assert.Equal(1, rejected.For("too_large"));
    }

    [Fact]
    public async Task ReadAsync_DeclaredLengthEqualToTheLimit_ReturnsTheBody()
    {
        var data = Bytes(100);
        var (reader, _) = Reader(max: 100);

        var run = await ReadAsync(reader, Context(new ScriptedBody(data), declared: 100));

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(data, body.Memory.ToArray());
        Assert.Equal(200, run.Status);
    }

    [Fact]
    public async Task ReadAsync_UndeclaredBodyOneByteOverTheLimit_Writes413WithItsSize()
    {
        var (reader, _) = Reader(max: 100);
        var stream = new ScriptedBody(Bytes(101));
        using var probe = new PoolProbe(128);

        var run = await ReadAsync(reader, Context(stream));
        var returned = PoolProbe.CameBack(stream.Arrays.Single());

        Assert.Null(run.Body);
        Assert.Equal(413, run.Status);
        Assert.Equal("[s] request body of 101 bytes exceeds the limit of 100 bytes (MaxRequestBytes)", run.Text);
        Assert.True(returned, "the buffer of a refused body was not returned to the pool");
    }

    [Fact]
    public async Task ReadAsync_UndeclaredBodyFarOverTheLimit_StopsReadingAtTheLimitAndWrites413()
    {
        var stream = new ScriptedBody(Bytes(1_000_000), chunk: 64);
        var (reader, _) = Reader(max: 100);
        using var probe = new PoolProbe(128);

        var run = await ReadAsync(reader, Context(stream));
        var returned = PoolProbe.CameBack(stream.Arrays.Single());

        Assert.Null(run.Body);
        Assert.Equal(413, run.Status);
        Assert.Equal("[s] request body of more than 100 bytes exceeds the limit of 100 bytes (MaxRequestBytes)", run.Text);
        // The buffer for 101 bytes is pooled as 128: reading stops once that is full.
        Assert.Equal(128, stream.Consumed);
        Assert.True(returned, "the buffer of a refused body was not returned to the pool");
    }

    [Fact]
    public async Task ReadAsync_BodyLongerThanDeclared_GrowsUpToTheLimitThenWrites413()
    {
        // A declared length that undercounts: the buffer grows 16 -> 32 -> 64 -> 128 (the limit + 1, pooled), then stops.
        var stream = new ScriptedBody(Bytes(1000), chunk: 1000);
        var (reader, _) = Reader(max: 100);

        var run = await ReadAsync(reader, Context(stream, declared: 10));

        Assert.Equal(413, run.Status);
        Assert.Contains("more than 100 bytes", run.Text, StringComparison.Ordinal);
        Assert.Equal([16, 16, 32, 64], stream.Offered);
        Assert.Equal(128, stream.Consumed);
    }

    [Fact]
    public async Task ReadAsync_BufferGrows_EachOutgrownBufferGoesBackToThePool()
    {
        var stream = new ScriptedBody(Bytes(40), chunk: 1000);
        var (reader, _) = Reader(max: 1000);
        using var probe = new PoolProbe(16, 32);

        var run = await ReadAsync(reader, Context(stream, declared: 10));
        var returned = stream.Arrays.Take(2).Select(PoolProbe.CameBack).ToArray();

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(Bytes(40), body.Memory.ToArray());
        Assert.Equal([16, 32, 64], stream.Arrays.Select(a => a.Length));
        Assert.Equal([true, true], returned);
    }

    [Fact]
    public async Task ReadAsync_BodyOneByteOverAPowerOfTwoLimitAfterGrowing_Writes413NotATruncatedBody()
    {
        // Limit 64: the last growth must make room for 65 bytes (pooled as 128), or the 65th byte would go unseen.
        var stream = new ScriptedBody(Bytes(65), chunk: 1000);
        var (reader, _) = Reader(max: 64);

        var run = await ReadAsync(reader, Context(stream, declared: 10));

        Assert.Null(run.Body);
        Assert.Equal(413, run.Status);
        Assert.Equal("[s] request body of 65 bytes exceeds the limit of 64 bytes (MaxRequestBytes)", run.Text);
    }

    [Fact]
    public async Task ReadAsync_WritableSizeFeature_SetToTheLimit()
    {
        var feature = new SizeFeature(readOnly: false);
        var context = Context(new ScriptedBody(Bytes(5)));
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(feature);
        var (reader, _) = Reader(max: 4321);

        using var body = (await ReadAsync(reader, context)).Body;

        Assert.Equal(4321, feature.MaxRequestBodySize);
    }

    [Fact]
    public async Task ReadAsync_ReadOnlySizeFeature_LeftAloneAndBodyRead()
    {
        var feature = new SizeFeature(readOnly: true);
        var context = Context(new ScriptedBody(Bytes(5)));
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(feature);
        var (reader, _) = Reader(max: 4321);

        var run = await ReadAsync(reader, context);

        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(30_000_000, feature.MaxRequestBodySize);
    }

    [Fact]
    public async Task ReadAsync_KestrelRefusesTheBodyAs413_Writes413WithoutASize()
    {
        var stream = new ScriptedBody(Bytes(50)) { FailAfter = 0, FailWith = new BadHttpRequestException("Request body too large.", 413) };
        var (reader, _) = Reader(max: 100);
        using var probe = new PoolProbe(128);

        var run = await ReadAsync(reader, Context(stream));
        Assert.True(PoolProbe.CameBack(stream.Arrays.Single()), "the buffer was not returned to the pool");

        Assert.Null(run.Body);
        Assert.Equal(413, run.Status);
        Assert.Equal("[s] request body of more than 100 bytes exceeds the limit of 100 bytes (MaxRequestBytes)", run.Text);
    }

    [Fact]
    public async Task ReadAsync_KestrelEndsATricklingUploadWith408_Writes408WithItsMessage()
    {
        var stream = new ScriptedBody(Bytes(50)) { FailAfter = 10, FailWith = new BadHttpRequestException("Reading the request body timed out due to data arriving too slowly.", 408) };
        var (reader, _) = Reader(max: 100);

        var run = await ReadAsync(reader, Context(stream));

        Assert.Null(run.Body);
        Assert.Equal(408, run.Status);
        Assert.Equal("[s] could not read the request body: Reading the request body timed out due to data arriving too slowly.", run.Text);
    }

    [Fact]
    public async Task ReadAsync_StalledPastTheDeadline_Writes408ClosesTheConnectionAndLogs()
    {
        var time = new FakeTimeProvider();
        var stream = new ScriptedBody(Bytes(100)) { StallAfter = 37 };
        var (reader, lines) = Reader(max: 1000, timeout: TimeSpan.FromSeconds(5), time);
        var context = Context(stream);
        using var rejected = new MetricRecorder("GraphPipe.Server", "graphpipe.server.rejected", "reason");
        using var byStage = new MetricRecorder("GraphPipe.Server", "graphpipe.server.rejected", "graphpipe.stage");

        var pending = reader.ReadAsync(context, "slow-stage").AsTask();
        await stream.Stalled.Task.WaitAsync(Wait, Ct);
        time.Advance(TimeSpan.FromSeconds(4.9));
        var earlyDone = pending.IsCompleted;
        time.Advance(TimeSpan.FromSeconds(0.1));
        var run = Finish(await pending.WaitAsync(Wait, Ct), context);

        Assert.False(earlyDone, "the body read ended before its deadline");
        Assert.Null(run.Body);
        Assert.Equal(408, run.Status);
        Assert.Equal("[slow-stage] request body not received within 5 s (37 bytes arrived)", run.Text);
        Assert.Equal("close", context.Response.Headers.Connection.ToString());
        Assert.Contains(lines.Lines, l => l.Contains("BodyTooSlow", StringComparison.Ordinal) && l.Contains("within 5 s", StringComparison.Ordinal));
        Assert.Equal(1, rejected.For("body_timeout"));
        Assert.Equal(1, byStage.For("slow-stage"));
    }

    [Fact]
    public async Task ReadAsync_ReadCancelledAfterTheDeadline_BufferBackInThePoolAnd408()
    {
        var time = new FakeTimeProvider();
        var stream = new ScriptedBody(Bytes(100)) { StallAfter = 10, IgnoreToken = true };
        var (reader, _) = Reader(max: 1000, timeout: TimeSpan.FromSeconds(5), time);
        var context = Context(stream);

        var pending = reader.ReadAsync(context, "s").AsTask();
        await stream.Stalled.Task.WaitAsync(Wait, Ct);
        time.Advance(TimeSpan.FromSeconds(5));
        // The stalled read ends here, on this thread, and the reader's handling with it.
        using var probe = new PoolProbe(128 * 1024);
        stream.Release.SetException(new OperationCanceledException("deadline"));
        var returned = PoolProbe.CameBack(stream.Arrays.Single());
        var run = Finish(await pending.WaitAsync(Wait, Ct), context);

        Assert.Equal(408, run.Status);
        Assert.True(returned, "the buffer of a timed-out body was not returned to the pool");
    }

    [Fact]
    public async Task ReadAsync_InfiniteDeadline_WaitsForASlowBodyPastAnyTime()
    {
        var time = new FakeTimeProvider();
        var stream = new ScriptedBody(Bytes(100)) { StallAfter = 37, IgnoreToken = true };
        var (reader, _) = Reader(max: 1000, timeout: Timeout.InfiniteTimeSpan, time);
        var context = Context(stream);

        var pending = reader.ReadAsync(context, "s").AsTask();
        await stream.Stalled.Task.WaitAsync(Wait, Ct);
        time.Advance(TimeSpan.FromDays(1));
        var earlyDone = pending.IsCompleted;
        stream.Release.SetResult();
        var run = Finish(await pending.WaitAsync(Wait, Ct), context);

        Assert.False(earlyDone);
        using var body = Assert.IsType<PooledBody>(run.Body);
        Assert.Equal(37, body.Length);
    }

    [Fact]
    public async Task ReadAsync_ClientGoesAway_ReturnsNullWritesNothingAndLogsClientGone()
    {
        using var aborted = new CancellationTokenSource();
        var stream = new ScriptedBody(Bytes(100)) { StallAfter = 10 };
        var (reader, lines) = Reader(max: 1000);
        var context = Context(stream, aborted: aborted.Token);

        var pending = reader.ReadAsync(context, "s").AsTask();
        await stream.Stalled.Task.WaitAsync(Wait, Ct);
        await aborted.CancelAsync();
        var run = Finish(await pending.WaitAsync(Wait, Ct), context);

        Assert.Null(run.Body);
        Assert.Equal((200, ""), (run.Status, run.Text));
        Assert.Contains(lines.Lines, l => l.Contains("ClientGone", StringComparison.Ordinal));
        Assert.DoesNotContain(lines.Lines, l => l.Contains("BodyTooSlow", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_ClientGoneAfterTheDeadlinePassed_TreatedAsGoneNot408()
    {
        using var aborted = new CancellationTokenSource();
        var time = new FakeTimeProvider();
        var stream = new ScriptedBody(Bytes(100)) { StallAfter = 10, IgnoreToken = true };
        var (reader, lines) = Reader(max: 1000, timeout: TimeSpan.FromSeconds(5), time);
        var context = Context(stream, aborted: aborted.Token);

        var pending = reader.ReadAsync(context, "s").AsTask();
        await stream.Stalled.Task.WaitAsync(Wait, Ct);
        time.Advance(TimeSpan.FromSeconds(6));
        await aborted.CancelAsync();
        stream.Release.SetException(new OperationCanceledException("connection reset"));
        var run = Finish(await pending.WaitAsync(Wait, Ct), context);

        Assert.Null(run.Body);
        Assert.Equal((200, ""), (run.Status, run.Text));
        Assert.Contains(lines.Lines, l => l.Contains("ClientGone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_ConnectionResetWhileReading_ReturnsNullWritesNothing()
    {
        var stream = new ScriptedBody(Bytes(100)) { FailAfter = 20, FailWith = new IOException("connection reset by peer") };
        var (reader, lines) = Reader(max: 1000);
        using var probe = new PoolProbe(128);

        var run = await ReadAsync(reader, Context(stream, declared: 100));
        Assert.True(PoolProbe.CameBack(stream.Arrays.Single()), "the buffer was not returned to the pool");

        Assert.Null(run.Body);
        Assert.Equal((200, ""), (run.Status, run.Text));
        Assert.Contains(lines.Lines, l => l.Contains("ClientGone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_OtherFailure_Propagates()
    {
        var stream = new ScriptedBody(Bytes(100)) { FailAfter = 0, FailWith = new InvalidOperationException("bug") };
        var (reader, _) = Reader(max: 1000);

        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.ReadAsync(Context(stream), "s").AsTask().WaitAsync(Wait, Ct));
    }
}
