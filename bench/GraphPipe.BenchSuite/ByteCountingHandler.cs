using System.Net;

namespace GraphPipe.BenchSuite;

/// <summary>
/// Counts request and response body bytes that pass through an <see cref="HttpClient"/> (headers not
/// included), e.g. to report bytes per image of a pipeline. Counts are totals since creation or the last
/// <see cref="Reset"/>; safe to use from concurrent requests.
/// </summary>
internal sealed class ByteCountingHandler : DelegatingHandler
{
    private long _sent;
    private long _received;
    private long _requests;

    public ByteCountingHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    public long BytesSent => Interlocked.Read(ref _sent);

    public long BytesReceived => Interlocked.Read(ref _received);

    public long Requests => Interlocked.Read(ref _requests);

    public void Reset()
    {
        Interlocked.Exchange(ref _sent, 0);
        Interlocked.Exchange(ref _received, 0);
        Interlocked.Exchange(ref _requests, 0);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _requests);
        if (request.Content is { } content)
        {
            // Wrapping counts what is actually written, also for contents of unknown length (chunked).
            request.Content = new CountingContent(content, n => Interlocked.Add(ref _sent, n));
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.Content = new CountingContent(response.Content, n => Interlocked.Add(ref _received, n));
        return response;
    }

    /// <summary>Passes an inner content through unchanged, reporting every byte that flows either way.</summary>
    private sealed class CountingContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly Action<long> _count;

        public CountingContent(HttpContent inner, Action<long> count)
        {
            _inner = inner;
            _count = count;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var counting = new CountingStream(stream, _count, ownsInner: false);
            await _inner.CopyToAsync(counting, cancellationToken).ConfigureAwait(false);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
            => new CountingStream(await _inner.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), _count, ownsInner: true);

        protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A pass-through stream that reports bytes read or written. Owns the wrapped stream only when reading a response (when writing, the transport owns it).</summary>
    private sealed class CountingStream(Stream inner, Action<long> report, bool ownsInner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            report(count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            report(buffer.Length);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            report(buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private int Counted(int read)
        {
            report(read);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && ownsInner) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
