using System.Net.Http;
using System.Net.Sockets;
using System.Text;

namespace GraphPipe.Download;

/// <summary>
/// The real cause of a failed fetch, in words: HttpClient's outer message ("An error occurred while
/// sending the request.") says nothing; the inner chain (socket error, premature close) does.
/// </summary>
internal static class FailureCause
{
    private const int MaxChars = 400;

    /// <summary>
    /// E.g. <c>the server closed the connection before a complete response (The response ended prematurely [ResponseEnded])</c>
    /// or <c>Connection refused (127.0.0.1:8080) [SocketError.ConnectionRefused]</c>.
    /// </summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = new StringBuilder();
        var summary = Summary(exception);
        if (summary is not null)
        {
            text.Append(summary).Append(" (");
        }

        var first = true;
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpRequestException && ex.InnerException is not null && ex.Message.StartsWith("An error occurred while sending the request", StringComparison.Ordinal))
            {
                continue; // says nothing the inner exception does not say better
            }

            text.Append(first ? string.Empty : " <- ").Append(ex.Message.TrimEnd('.'));
            var code = ex switch
            {
                SocketException socket => $"SocketError.{socket.SocketErrorCode}",
                HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } http => http.HttpRequestError.ToString(),
                HttpIOException { HttpRequestError: not HttpRequestError.Unknown } io => io.HttpRequestError.ToString(),
                _ => null,
            };
            if (code is not null && !ex.Message.Contains(code, StringComparison.Ordinal))
            {
                text.Append(" [").Append(code).Append(']');
            }

            first = false;
        }

        if (summary is not null)
        {
            text.Append(')');
        }

        return text.Length <= MaxChars ? text.ToString() : string.Concat(text.ToString().AsSpan(0, MaxChars), "...");
    }

    /// <summary>Whether a fetch that failed so may work when tried again: connection failures and premature closes, not refusals.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpRequestException { StatusCode: System.Net.HttpStatusCode.Forbidden }
                or HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ConfigurationLimitExceeded })
            {
                return false; // the policy refused the target, or trying again cannot help
            }
        }

        return exception is HttpRequestException or IOException;
    }

    private static string? Summary(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            var error = ex switch
            {
                HttpRequestException http => http.HttpRequestError,
                HttpIOException io => io.HttpRequestError,
                _ => HttpRequestError.Unknown,
            };
            var words = error switch
            {
                HttpRequestError.ResponseEnded => "the server closed the connection before a complete response",
                HttpRequestError.InvalidResponse => "the server sent an invalid response",
                HttpRequestError.SecureConnectionError => "the TLS handshake failed",
                _ => null,
            };
            if (words is not null)
            {
                return words;
            }

            if (ex is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return "the server reset the connection";
            }
        }

        return null;
    }
}
