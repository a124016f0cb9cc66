using GraphPipe.Server.GraphPipeProtocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;

namespace GraphPipe.Server.Serving;

/// <summary>
/// The routes of stages added while serving (<see cref="StageCatalog.Added"/>): <c>/{name}</c> and
/// <c>/{name}/versions/{version}</c>, built again each time the catalog grows, as YARP rebuilds its routes on a new
/// configuration. The stages known at start keep the routes <c>MapGraphPipe</c> gave them.
/// </summary>
internal sealed class AddedStageEndpoints(StageCatalog catalog, GraphPipeEndpoint endpoint) : EndpointDataSource
{
    private Built _built = new([], []);

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            var added = catalog.Added;
            var built = Volatile.Read(ref _built);
            if (ReferenceEquals(built.Stages, added))
            {
                return built.Endpoints;
            }

            var endpoints = new List<Endpoint>(added.Count * 2);
            foreach (var stage in added)
            {
                endpoints.Add(Route("/" + stage.Name, context => endpoint.HandleAsync(context, stage), stage.Name));
                if (stage.Stage is GraphPipe.Reloading.IVersionedStage)
                {
                    endpoints.Add(Route("/" + stage.Name + "/versions/{version}", context => VersionRoute.HandleAsync(context, endpoint, stage), stage.Name + " versions"));
                }
            }

            Volatile.Write(ref _built, new Built(added, endpoints));
            return endpoints;
        }
    }

    public override IChangeToken GetChangeToken() => catalog.GetChangeToken();

    private sealed record Built(IReadOnlyList<ServedStage> Stages, IReadOnlyList<Endpoint> Endpoints);

    private static RouteEndpoint Route(string pattern, RequestDelegate handler, string name)
        => (RouteEndpoint)new RouteEndpointBuilder(handler, RoutePatternFactory.Parse(pattern), order: 0) { DisplayName = "GraphPipe stage " + name }.Build();
}
