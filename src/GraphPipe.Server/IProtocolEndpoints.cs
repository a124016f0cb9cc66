using Microsoft.AspNetCore.Routing;

namespace GraphPipe.Server;

/// <summary>
/// A further protocol front door added to the serving host (e.g. the Open Inference Protocol): hosts that
/// map endpoints themselves (<see cref="GraphPipeStageHost"/>) map each one registered, after GraphPipe's.
/// </summary>
internal interface IProtocolEndpoints
{
    void Map(IEndpointRouteBuilder endpoints);
}
