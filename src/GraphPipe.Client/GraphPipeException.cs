using System.Net;

namespace GraphPipe.Client;

/// <summary>
/// A GraphPipe call failed. Covers both ways a server reports errors (a non-200 status with a text body,
/// and a 200 whose <c>errors</c> vector is non-empty) as well as transport failures and timeouts.
/// </summary>
public sealed class GraphPipeException : Exception
{
    public GraphPipeException(string message, Uri? endpoint, HttpStatusCode? statusCode, string remoteMessage, Exception? inner = null)
        : base(message, inner)
    {
        Endpoint = endpoint;
        StatusCode = statusCode;
        RemoteMessage = remoteMessage;
    }

    /// <summary>The URL called.</summary>
    public Uri? Endpoint { get; }

    /// <summary>The HTTP status the server answered; null when no response came (unreachable, timeout).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The server's own message (response body or joined <c>errors</c> entries), or the transport failure.</summary>
    public string RemoteMessage { get; }

    /// <summary>True when the call ran out of time.</summary>
    public bool IsTimeout => InnerException is TimeoutException;
}
