using GraphPipe.Client;
using GraphPipe.Client.Balancing;
using GraphPipe.Pipelines;

namespace GraphPipe.Server;

/// <summary>Where a served stage passes its outputs on (see <see cref="ForwardingRegistration.AddForwardingStage(GraphPipeServingBuilder, string, Func{IServiceProvider, Stages.IInferenceStage}, ForwardingOptions, bool)"/>).</summary>
public sealed class ForwardingOptions
{
    /// <summary>The next stage over HTTP, configured by the operator (server sequencing); null for none.</summary>
    public Uri? Next { get; init; }

    /// <summary>
    /// The name of a stage of the same host to pass outputs to in-process: no HTTP hop, no copy of the
    /// tensors. It must be added before this one. Takes the place of <see cref="Next"/>.
    /// </summary>
    public string? LocalNext { get; init; }

    /// <summary>
    /// The next stage's replicas (server sequencing): URLs separated by commas and/or <c>dns:///name:port</c>
    /// (see <see cref="EndpointGroup.Parse"/>), balanced per request with passive health and retries.
    /// Takes the place of <see cref="Next"/>.
    /// </summary>
    public string? NextEndpoints { get; init; }

    /// <summary>Balancing, health and retries towards the next stage (its replicas given by <see cref="Next"/> or <see cref="NextEndpoints"/>).</summary>
    public BalancingOptions Balancing { get; init; } = new();

    /// <summary>Follow a next-stage URL given in the request's <c>config</c> (hybrid sequencing). Default true.</summary>
    public bool AllowNextFromConfig { get; init; } = true;

    /// <summary>Which next-stage URLs a client may name in <c>config</c>. Default: public addresses only.</summary>
    public NetworkPolicy ConfigPolicy { get; init; } = new();

    /// <summary>TLS towards <see cref="Next"/>: a CA file to trust and a client certificate (mutual TLS). Files are read again whenever the client factory renews its handler.</summary>
    public ClientTlsOptions NextTls { get; init; } = new();

    /// <summary>The API key sent to <see cref="Next"/> as <c>Authorization: Bearer</c>; null: none. Never sent to next stages a request names in its config.</summary>
    public string? NextApiKey { get; init; }
}
