using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GraphPipe.Server.OpenInference;

/// <summary>The gRPC listener Kestrel was given; once the host has started it knows the bound port.</summary>
internal sealed class GrpcListener
{
    private ListenOptions? _listen;

    public void Set(ListenOptions listen) => _listen = listen;

    /// <summary>The gRPC address (e.g. <c>http://127.0.0.1:8001</c>) once the host listens; null without gRPC.</summary>
    public Uri? Address => _listen?.IPEndPoint is { } endpoint
        ? new Uri($"http://{(endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString())}:{endpoint.Port}")
        : null;
}
