using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using GraphPipe.Stages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace GraphPipe.Download;

/// <summary>
/// The downloader stage: takes a string tensor of image URLs and returns a string tensor [N] of the
/// downloaded bytes, in input order. URLs are fetched concurrently within a per-request and a global
/// limit; every URL, every redirect hop and every connection is checked against
/// <see cref="DownloaderOptions.Policy"/> so a request cannot make the stage reach its own network.
/// </summary>
/// <remarks>
/// Failures name the URL's index, the URL and the reason. Their kinds: a bad or refused URL, a redirect
/// to a refused target, too many redirects, a body over the limits, a non-image content type and HTTP
/// 4xx are the client's to fix (<see cref="StageErrorKind.InvalidInput"/>, 400); HTTP 5xx, other 3xx
/// and connection failures are the origin's (<see cref="StageErrorKind.Upstream"/>, 502); a URL that
/// does not finish within <see cref="DownloaderOptions.Timeout"/> is <see cref="StageErrorKind.Timeout"/> (504).
/// The first failure stops the request's other downloads.
/// </remarks>
public sealed partial class DownloaderStage : IInferenceStage, IDisposable
{
    private const int InitialBufferBytes = 64 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly DownloaderOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _global;
    private readonly string _timeoutText;
    private readonly ResiliencePipeline<Outcome> _retry;

    /// <param name="options">Limits and policy; validated here.</param>
    /// <param name="logger">Logs refusals and failures.</param>
    /// <param name="handler">
    /// Transport for tests and custom setups; not disposed. Null builds a <see cref="SocketsHttpHandler"/>
    /// that enforces <see cref="DownloaderOptions.Policy"/> at connect time. A custom handler must not follow
    /// redirects itself (each hop is checked here) and should enforce the policy at connect time too.
    /// </param>
    public DownloaderStage(DownloaderOptions options, ILogger<DownloaderStage>? logger = null, HttpMessageHandler? handler = null)
        : this(options, logger, handler, TimeProvider.System)
    {
    }

    /// <inheritdoc cref="DownloaderStage(DownloaderOptions, ILogger{DownloaderStage}?, HttpMessageHandler?)"/>
    /// <param name="timeProvider">Clock for the per-URL timeout and timings.</param>
    public DownloaderStage(DownloaderOptions options, ILogger<DownloaderStage>? logger, HttpMessageHandler? handler, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        // A copy: limits changed on the caller's object later would disagree with the semaphore sized now.
        _options = options.Clone();
        _options.Validate();
        _logger = logger ?? NullLogger<DownloaderStage>.Instance;
        _time = timeProvider;
        _global = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        _timeoutText = FormatSeconds(_options.Timeout);
        _retry = CreateRetry(_options, _time);
        _http = handler is null
            ? new HttpClient(CreateHandler(_options), disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        // The per-URL timeout is ours (it covers redirects and the body); HttpClient's would only add a second clock.
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("graphpipe-dotnet-download/0.1");
        _http.DefaultRequestHeaders.Accept.ParseAdd("image/*");
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/octet-stream;q=0.8");
        Metadata = new StageMetadata
        {
            Name = _options.Name,
            Version = "1",
            Server = "graphpipe-dotnet download",
            Description = "Downloads http(s) image URLs and returns their bytes in input order",
            Inputs = [new IOMetadata(_options.InputName, TensorType.String, [-1], "image URLs (UTF-8); any shape, read row-major")],
            Outputs = [new IOMetadata(_options.OutputName, TensorType.String, [-1], "the downloaded bytes, one string per URL, in input order")],
        };
        Log.Created(_logger, _options.Name, _options.MaxConcurrencyPerRequest, _options.MaxConcurrency, _options.Timeout.TotalSeconds, _options.MaxBytesPerImage, _options.Policy.AllowPrivateNetworks);
    }

    public StageMetadata Metadata { get; }

    /// <summary>
    /// The transport the stage builds for itself (<see cref="GraphPipe.Pipelines.PolicyCheckedHandler"/>, shared with every
    /// policy-checked outbound client): connections go only to addresses the policy allows, checked after
    /// DNS resolution so a host name that resolves (or re-resolves) to a private address is refused too;
    /// no environment proxy, no cookies; redirects are followed here, hop by hop.
    /// </summary>
    internal static HttpMessageHandler CreateHandler(DownloaderOptions options)
        => options.Policy.CreateHandler(allowAutoRedirect: false, connectTimeout: options.Timeout);

    public async ValueTask<StageResult> InferAsync(StageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var input = request.FindInput(_options.InputName);
        if (input is null)
        {
            return StageResult.Failure(StageErrorKind.InvalidInput, $"missing input '{_options.InputName}' (string tensor of image URLs)");
        }

        if (!input.IsString)
        {
            return StageResult.Failure(StageErrorKind.InvalidInput, $"input '{_options.InputName}': expected type string (image URLs), received {input.Type.ToWireName()}{Echo.Shape(input.Shape.AsSpan())}");
        }

        foreach (var name in request.OutputNames)
        {
            if (!string.Equals(name, _options.OutputName, StringComparison.Ordinal))
            {
                return StageResult.Failure(StageErrorKind.InvalidInput, $"unknown output name '{Echo.Name(name)}'; the output is {_options.OutputName}");
            }
        }

        var count = input.Strings.Count;
        if (count > _options.MaxUrlsPerRequest)
        {
            return StageResult.Failure(StageErrorKind.InvalidInput, $"input '{_options.InputName}' has {count} URLs; at most {_options.MaxUrlsPerRequest} are allowed per request (MaxUrlsPerRequest)");
        }

        // Every URL is checked before any is fetched: a bad one fails the request without network traffic.
        var urls = new Uri[count];
        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            var error = ParseUrl(input.Strings[i], out var text, out var uri);
            if (error is not null)
            {
                return Fail(StageErrorKind.InvalidInput, i, text, error);
            }

            (texts[i], urls[i]) = (text, uri!);
        }

        var started = _time.GetTimestamp();
        var buffers = new PooledBuffers(count);
        var job = new Job(urls, texts, buffers, cancellationToken);
        try
        {
            var workers = new Task[Math.Min(count, _options.MaxConcurrencyPerRequest)];
            for (var w = 0; w < workers.Length; w++)
            {
                workers[w] = RunWorkerAsync(job);
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
        finally
        {
            job.Dispose();
        }

        if (job.Error is { } failure)
        {
            buffers.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            return StageResult.Failure(failure);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            buffers.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }

        var images = Tensor.FromStrings(buffers.Views, [count]);
        var elapsed = _time.GetElapsedTime(started);
        Log.Downloaded(_logger, count, buffers.TotalBytes, elapsed.TotalMilliseconds);
        var outputs = new Tensor[Math.Max(1, request.OutputNames.Count)];
        Array.Fill(outputs, images);
        return StageResult.Success(outputs, buffers);
    }

    public void Dispose()
    {
        _http.Dispose();
        _global.Dispose();
    }

    /// <summary>Takes URL indices until none are left or the request is stopped; at most MaxConcurrencyPerRequest run per request.</summary>
    private async Task RunWorkerAsync(Job job)
    {
        try
        {
            while (!job.Stop.IsCancellationRequested)
            {
                var index = job.NextIndex();
                if (index >= job.Urls.Length)
                {
                    return;
                }

                var outcome = await FetchAsync(job, index).ConfigureAwait(false);
                if (outcome.Error is { } error)
                {
                    job.Fail(index, error);
                    return;
                }

                job.Buffers.Set(index, outcome.Buffer!, outcome.Length);
            }
        }
        catch (Exception ex) when (job.Stop.IsCancellationRequested && ex is OperationCanceledException or HttpRequestException or IOException)
        {
            // Stopped by another URL's failure or by the caller; InferAsync reports which.
        }
        catch
        {
            job.Stop.Cancel();
            throw;
        }
    }

    private async Task<Outcome> FetchAsync(Job job, int index)
    {
        var stop = job.Stop.Token;
        await _global.WaitAsync(stop).ConfigureAwait(false);
        try
        {
            // The clock starts once a global slot is ours: waiting for one is not the origin's fault.
            using var timeout = new CancellationTokenSource(_options.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
            var attempts = new Attempts(this, job, index);
            try
            {
                return await FetchWithRetriesAsync(attempts, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (timeout.IsCancellationRequested && !stop.IsCancellationRequested
                && ex is OperationCanceledException or HttpRequestException or IOException)
            {
                var last = attempts.Count > 1 && attempts.LastFailure is { } failure ? $" ({attempts.Count} attempts; the last before: {failure})" : string.Empty;
                return Failure(job, index, StageErrorKind.Timeout, $"timed out after {_timeoutText}{last}");
            }
        }
        finally
        {
            _global.Release();
        }
    }

    private async Task<Outcome> FetchCoreAsync(Job job, int index, CancellationToken cancellationToken)
    {
        var current = job.Urls[index];
        for (var hop = 0; ; hop++)
        {
            HttpResponseMessage response;
            try
            {
                using var message = new HttpRequestMessage(HttpMethod.Get, current);
                response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (FindRefusal(ex) is { } refusal)
                {
                    Log.Refused(_logger, current, refusal);
                    return Failure(job, index, StageErrorKind.InvalidInput, hop == 0 ? refusal : $"redirected to {Show(current.ToString())}, which is refused: {refusal}");
                }

                var what = ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError ? "could not connect" : "request failed";
                var where = hop == 0 ? string.Empty : $" (redirected to {Show(current.ToString())})";
                return Failure(job, index, StageErrorKind.Upstream, $"{what}{where}: {FailureCause.Describe(ex)}") with { Transient = FailureCause.IsTransient(ex) };
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                if (IsRedirect(response.StatusCode))
                {
                    if (hop >= _options.MaxRedirects)
                    {
                        return Failure(job, index, StageErrorKind.InvalidInput, $"more than {_options.MaxRedirects} redirects");
                    }

                    if (response.Headers.Location is not { } location)
                    {
                        return Failure(job, index, StageErrorKind.Upstream, $"HTTP {status} redirect without a Location header");
                    }

                    var target = location.IsAbsoluteUri ? location : new Uri(current, location);
                    var refusal = target.Scheme == Uri.UriSchemeHttp || target.Scheme == Uri.UriSchemeHttps
                        ? _options.Policy.CheckUri(target)
                        : "not an http(s) URL";
                    if (refusal is not null)
                    {
                        Log.Refused(_logger, target, refusal);
                        return Failure(job, index, StageErrorKind.InvalidInput, $"redirected to {Show(target.ToString())}, which is refused: {refusal}");
                    }

                    current = target;
                    continue;
                }

                if (status is < 200 or > 299)
                {
                    // A missing or forbidden image is the client's to fix; an origin in trouble is not.
                    var kind = status is >= 400 and <= 499 ? StageErrorKind.InvalidInput : StageErrorKind.Upstream;
                    var reason = string.IsNullOrEmpty(response.ReasonPhrase) ? response.StatusCode.ToString() : response.ReasonPhrase;
                    // 502/503/504: the origin (or a proxy before it) is in trouble for now; tried again.
                    return Failure(job, index, kind, $"HTTP {status} {reason}") with { Transient = status is 502 or 503 or 504 };
                }

                var mediaType = response.Content.Headers.ContentType?.MediaType;
                if (_options.CheckContentType && mediaType is not null && !IsImageType(mediaType))
                {
                    return Failure(job, index, StageErrorKind.InvalidInput, $"content type {mediaType} is not an image (expected image/* or application/octet-stream)");
                }

                return await ReadBodyAsync(job, index, response, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Streams the body into a pooled buffer, failing as soon as it passes a limit.</summary>
    private async Task<Outcome> ReadBodyAsync(Job job, int index, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var max = _options.MaxBytesPerImage;
        var declared = response.Content.Headers.ContentLength;
        if (declared > max)
        {
            return Failure(job, index, StageErrorKind.InvalidInput, $"body of {declared} bytes is larger than {max} bytes");
        }

        if (declared is { } known && !job.Reserve(known, _options.MaxBytesPerRequest))
        {
            return Failure(job, index, StageErrorKind.InvalidInput, TotalTooLarge());
        }

        var reserved = declared ?? 0;
        // One byte beyond the declared length lets the end of the body be seen without growing the buffer.
        var buffer = ArrayPool<byte>.Shared.Rent(declared is { } length ? (int)length + 1 : (int)Math.Min(InitialBufferBytes, max + 1));
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
                if (filled > max)
                {
                    return Failure(job, index, StageErrorKind.InvalidInput, $"body is larger than {max} bytes");
                }

                if (filled > reserved)
                {
                    if (!job.Reserve(filled - reserved, _options.MaxBytesPerRequest))
                    {
                        return Failure(job, index, StageErrorKind.InvalidInput, TotalTooLarge());
                    }

                    reserved = filled;
                }
            }

            var result = new Outcome(buffer, filled, null);
            buffer = null;
            return result;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private string TotalTooLarge() => $"the request's downloads are larger than {_options.MaxBytesPerRequest} bytes in total (MaxBytesPerRequest)";

    private Outcome Failure(Job job, int index, StageErrorKind kind, string reason)
    {
        var error = new StageError(kind, Describe(index, job.Texts[index], reason));
        Log.Failed(_logger, _options.Name, error.Message);
        return new Outcome(null, 0, error);
    }

    private StageResult Fail(StageErrorKind kind, int index, string text, string reason)
    {
        var message = Describe(index, text, reason);
        Log.Failed(_logger, _options.Name, message);
        return StageResult.Failure(kind, message);
    }

    /// <summary>Null when <paramref name="raw"/> is a URL the stage may fetch; otherwise why not.</summary>
    private string? ParseUrl(ReadOnlyMemory<byte> raw, out string text, out Uri? uri)
    {
        uri = null;
        try
        {
            text = StrictUtf8.GetString(raw.Span).Trim();
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.UTF8.GetString(raw.Span);
            return "not valid UTF-8";
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            uri = null;
            return "not an http(s) URL";
        }

        // Literal addresses are refused here; host names are checked after DNS, at connect time.
        if (_options.Policy.CheckUri(uri) is { } refusal)
        {
            Log.Refused(_logger, uri, refusal);
            return refusal;
        }

        return null;
    }

    private static string? FindRefusal(Exception exception)
    {
        string? refusal = null;
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            // The policy-checked handler reports refusals as 403 before any response exists.
            if (ex is HttpRequestException { StatusCode: HttpStatusCode.Forbidden })
            {
                refusal = ex.Message;
            }
        }

        return refusal;
    }

    private static bool IsRedirect(HttpStatusCode status)
        => status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool IsImageType(string mediaType)
        => mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase)
            || mediaType.Equals("application/octet-stream", StringComparison.OrdinalIgnoreCase)
            // Object stores (S3 among them) label unknown uploads so.
            || mediaType.Equals("binary/octet-stream", StringComparison.OrdinalIgnoreCase);

    private static string Describe(int index, string text, string reason) => $"url {index} ({Show(text)}): {reason}";

    /// <summary>The URL as it goes into a one-line message: control characters replaced, long ones shortened.</summary>
    private static string Show(string text) => Echo.Name(text);

    private static string FormatSeconds(TimeSpan time) => time.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";

    /// <summary>A fetched body, or an error; <paramref name="Transient"/> errors are worth another attempt.</summary>
    private readonly record struct Outcome(byte[]? Buffer, int Length, StageError? Error, bool Transient = false);

    /// <summary>One request's shared state: its URLs, where the next worker starts, its byte budget and its first failure.</summary>
    private sealed class Job(Uri[] urls, string[] texts, PooledBuffers buffers, CancellationToken cancellationToken) : IDisposable
    {
        private readonly Lock _gate = new();
        private int _next = -1;
        private long _bytes;
        private int _errorIndex = int.MaxValue;

        public Uri[] Urls { get; } = urls;

        public string[] Texts { get; } = texts;

        public PooledBuffers Buffers { get; } = buffers;

        /// <summary>Cancelled by the caller or by the first failure.</summary>
        public CancellationTokenSource Stop { get; } = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        /// <summary>The failure of the lowest-numbered URL that failed on its own (not stopped by another's failure).</summary>
        public StageError? Error { get; private set; }

        public int NextIndex() => Interlocked.Increment(ref _next);

        public bool Reserve(long bytes, long limit) => Interlocked.Add(ref _bytes, bytes) <= limit;

        public void Fail(int index, StageError error)
        {
            lock (_gate)
            {
                if (index < _errorIndex)
                {
                    (_errorIndex, Error) = (index, error);
                }
            }

            Stop.Cancel();
        }

        public void Dispose() => Stop.Dispose();
    }
}

/// <summary>The pooled arrays behind one result's output strings; returned to the pool when the result is disposed.</summary>
internal sealed class PooledBuffers(int count) : IDisposable
{
    private byte[]?[]? _arrays = new byte[]?[count];
    private readonly ReadOnlyMemory<byte>[] _views = new ReadOnlyMemory<byte>[count];

    public IReadOnlyList<ReadOnlyMemory<byte>> Views => _views;

    private long _totalBytes;

    public long TotalBytes => Interlocked.Read(ref _totalBytes);

    /// <summary>Takes ownership of <paramref name="array"/> for index <paramref name="index"/> (each index is set by one worker only).</summary>
    public void Set(int index, byte[] array, int length)
    {
        var arrays = _arrays ?? throw new ObjectDisposedException(nameof(PooledBuffers));
        arrays[index] = array;
        _views[index] = new ReadOnlyMemory<byte>(array, 0, length);
        // Workers finish concurrently.
        Interlocked.Add(ref _totalBytes, length);
    }

    public void Dispose()
    {
        var arrays = Interlocked.Exchange(ref _arrays, null);
        if (arrays is null)
        {
            return;
        }

        Array.Clear(_views);
        foreach (var array in arrays)
        {
            if (array is not null)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
