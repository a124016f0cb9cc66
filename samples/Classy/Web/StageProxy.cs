using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Classy.Web;

/// <summary>
/// The same-origin reverse proxy (YARP) from the page to the stages: <c>POST /stages/{name}/</c> goes to
/// that stage and nowhere else. The destinations are fixed at start from <see cref="ClassyWebOptions.Stages"/>;
/// a request cannot name another, so the proxy is no way into the network (the stages' own SSRF
/// policies still decide what a URL or a route in <c>config</c> may reach).
/// </summary>
internal static class StageProxy
{
    /// <summary>The stages the page can call, by the name in <c>/stages/{name}/</c>.</summary>
    public static IReadOnlyList<(string Name, Uri Address)> Stages(ClassyEndpoints endpoints) =>
    [
        ("model", endpoints.Model),
        ("preprocessor", endpoints.Preprocessor),
        ("downloader", endpoints.Downloader),
        ("chained-preprocessor", endpoints.ChainedPreprocessor),
        ("chained-downloader", endpoints.ChainedDownloader),
    ];

    public static string PathOf(string name) => $"/stages/{name}/";

    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters) Config(ClassyWebOptions options)
    {
        var routes = new List<RouteConfig>();
        var clusters = new List<ClusterConfig>();
        foreach (var (name, address) in Stages(options.Stages))
        {
            routes.Add(new RouteConfig
            {
                RouteId = name,
                ClusterId = name,
                // POST is GraphPipe; GET answers the stage's metadata as JSON.
                Match = new RouteMatch { Path = $"/stages/{name}/{{**rest}}", Methods = ["POST", "GET"] },
                Transforms = [new Dictionary<string, string> { ["PathRemovePrefix"] = $"/stages/{name}" }],
            });
            clusters.Add(new ClusterConfig
            {
                ClusterId = name,
                Destinations = new Dictionary<string, DestinationConfig> { ["stage"] = new() { Address = address.ToString() } },
                HttpRequest = new ForwarderRequestConfig { ActivityTimeout = options.StageTimeout },
            });
        }

        return (routes, clusters);
    }
}
