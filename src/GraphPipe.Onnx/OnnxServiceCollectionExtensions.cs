using GraphPipe.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GraphPipe.Onnx;

public static class OnnxServiceCollectionExtensions
{
    /// <summary>Registers an <see cref="OnnxModelStage"/> as the <see cref="IInferenceStage"/> to serve.</summary>
    public static IServiceCollection AddOnnxModelStage(this IServiceCollection services, Action<OnnxModelOptions> configure)
    {
        services.AddOptions<OnnxModelOptions>().Configure(configure);
        services.TryAddSingleton(sp => new OnnxModelStage(
            sp.GetRequiredService<IOptions<OnnxModelOptions>>().Value,
            sp.GetService<ILogger<OnnxModelStage>>()));
        services.TryAddSingleton<IInferenceStage>(sp => sp.GetRequiredService<OnnxModelStage>());
        return services;
    }
}
