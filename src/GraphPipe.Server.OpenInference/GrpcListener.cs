using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GraphPipe.Server.OpenInference;

/// <summary>The gRPC listener Kestrel was given; once the host has started it knows the bound port.</summary>
internal sealed class GrpcListener
{
    private ListenOptions? _listen;
    private string _scheme = "http";

    public void Set(ListenOptions listen, bool https)
    {
        _listen = listen;
        _scheme = https ? "https" : "http";
    }

    /// <summary>The gRPC address (e.g. <c>http://127.0.0.1:8001</c>, <c>https://...</c> over TLS) once the host listens; null without gRPC.</summary>
    public Uri? Address => _listen?.IPEndPoint is { } endpoint
        ? new Uri($"{_scheme}://{(endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString())}:{endpoint.Port}")
        : null;
}
