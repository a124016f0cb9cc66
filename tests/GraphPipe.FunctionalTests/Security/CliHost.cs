using System.CommandLine;
using GraphPipe.Cli;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace GraphPipe.FunctionalTests.Security;

/// <summary>A serving host built in-process from serve-command flags (the CLI's own option definitions), on 127.0.0.1.</summary>
internal sealed class CliHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CliHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The OIP gRPC listener's address (<c>--grpc-listen</c>), or null.</summary>
    public Uri? GrpcAddress => GraphPipe.Server.OpenInference.OpenInferenceExtensions.GetOpenInferenceGrpcAddress(_app.Services);

    /// <summary>Parses <paramref name="args"/> with the serve and forwarding options and serves <paramref name="stage"/> (owned by the host).</summary>
    public static async Task<CliHost> StartAsync(IInferenceStage stage, params string[] args)
    {
        var settings = new ServerSettings("127.0.0.1:0");
        var forwarding = new ForwardingSettings();
        var command = new Command("serve-test");
        settings.AddTo(command);
        forwarding.AddTo(command);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        var app = settings.Build(parse, stage.Metadata.Name, serving => forwarding.AddStage(serving, parse, stage.Metadata.Name, _ => stage));
        await app.StartAsync(TestContext.Current.CancellationToken).WaitAsync(Limits.Step, TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // With --grpc-listen the server has two addresses: the HTTP listener is the one that is not gRPC's.
        var grpc = GraphPipe.Server.OpenInference.OpenInferenceExtensions.GetOpenInferenceGrpcAddress(app.Services);
        address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First(a => grpc is null || new Uri(a).Port != grpc.Port);
        return new CliHost(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Limits.Step);
        await _app.DisposeAsync();
    }
}
