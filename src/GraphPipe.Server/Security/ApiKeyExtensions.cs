using GraphPipe.Server.Security;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GraphPipe.Server;

public static class ApiKeyExtensions
{
    /// <summary>
    /// Requires <c>Authorization: Bearer KEY</c> on every request but the health endpoints, checked in constant
    /// time before anything reads the request body; others get 401 with <c>WWW-Authenticate: Bearer</c>.
    /// The check runs first in the host's middleware pipeline (a startup filter), so it covers every path.
    /// </summary>
    public static GraphPipeServingBuilder AddApiKey(this GraphPipeServingBuilder builder, Action<ApiKeyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<ApiKeyOptions>().Configure(configure).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton<ApiKeyVerifier>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, ApiKeyStartupFilter>());
        return builder;
    }
}
