using System.CommandLine;
using GraphPipe.Server;
using GraphPipe.Server.OpenInference;
using GraphPipe.Stages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GraphPipe.Cli;

/// <summary>The options every <c>serve</c> command shares: where to listen and the front door's limits.</summary>
internal sealed class ServerSettings
{
    public readonly Option<string> Listen;
    public readonly Option<string?> Inputs = CliOptions.EnvString("--inputs", "GP_INPUTS", "Comma-separated default input names", null, "-i");
    public readonly Option<string?> Outputs = CliOptions.EnvString("--outputs", "GP_OUTPUTS", "Comma-separated default output names", null, "-o");
    public readonly Option<long> MaxRequestBytes = CliOptions.Env("--max-request-bytes", "GP_MAX_REQUEST_BYTES", "Largest request body accepted (413 beyond)", 64L * 1024 * 1024);
    public readonly Option<TimeSpan> RequestTimeout = CliOptions.Duration("--request-timeout", "GP_REQUEST_TIMEOUT", "Time allowed per request (504 beyond), e.g. 30s", TimeSpan.FromSeconds(30));
    public readonly Option<int> MaxConcurrency = CliOptions.Env("--max-concurrency", "GP_MAX_CONCURRENCY", "Requests processed at once", 64);
    public readonly Option<int> MaxQueue = CliOptions.Env("--max-queue", "GP_MAX_QUEUE", "Requests waiting for a slot (503 beyond)", 256);
    public readonly Option<TimeSpan> ShutdownTimeout = CliOptions.Duration("--shutdown-timeout", "GP_SHUTDOWN_TIMEOUT", "Time given to in-flight requests on shutdown, after the drain delay", TimeSpan.FromSeconds(30));
    public readonly Option<TimeSpan> DrainDelay = CliOptions.Duration("--drain-delay", "GP_DRAIN_DELAY", "On SIGTERM: readiness fails at once, requests are still served this long before the listener closes (e.g. 5s behind Kubernetes)", TimeSpan.Zero);
    public readonly Option<TimeSpan> BodyTimeout = CliOptions.Duration("--body-timeout", "GP_BODY_TIMEOUT", "Time allowed to receive a request body, before it takes a slot (408 beyond)", TimeSpan.FromSeconds(30));
    public readonly Option<int> MinBodyRate = CliOptions.Env("--min-body-rate", "GP_MIN_BODY_RATE", "Slowest upload accepted, bytes/s after 5 s (0: off)", 1024);
    public readonly Option<bool> ReadinessRequiresNext = CliOptions.Env("--readiness-requires-next", "GP_READINESS_REQUIRES_NEXT", "Fail readiness when the --next stage does not answer (default: report it only)", false);
    public readonly Option<bool> Telemetry = CliOptions.Env("--telemetry", "GP_TELEMETRY", "Metrics at /metrics, traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set", true);
    public readonly Option<string> LogFormat = CliOptions.Env("--log-format", "GP_LOG_FORMAT", "Console log format: text or json", "text");
    public readonly Option<bool> Verbose = CliOptions.Env("--verbose", "GP_VERBOSE", "Log every request", false, "-v");
    public readonly SecuritySettings Security = new();
    public readonly Option<bool> OpenInference = CliOptions.Env("--oip", "GP_OIP", "Also serve the Open Inference Protocol (KServe v2) REST API under /v2 on the same port", true);
    public readonly Option<string?> GrpcListen = CliOptions.EnvString("--grpc-listen", "GP_GRPC_LISTEN", "Serve the Open Inference Protocol over gRPC (HTTP/2; with --tls-cert over TLS, with --client-ca mutual TLS, with an API key checked) on HOST:PORT, e.g. 127.0.0.1:8001 (default: no gRPC)", null);

    /// <param name="defaultListen">The stage kind's default address, so stages of a pipeline can run side by side with no flags.</param>
    public ServerSettings(string defaultListen = "127.0.0.1:9000")
    {
        Listen = CliOptions.Env("--listen", "GP_LISTEN", "Address to listen on, HOST:PORT", defaultListen, "-l");
    }

    public void AddTo(Command command)
    {
        command.Add(Listen);
        command.Add(Inputs);
        command.Add(Outputs);
        command.Add(MaxRequestBytes);
        command.Add(RequestTimeout);
        command.Add(MaxConcurrency);
        command.Add(MaxQueue);
        command.Add(ShutdownTimeout);
        command.Add(DrainDelay);
        command.Add(BodyTimeout);
        command.Add(MinBodyRate);
        command.Add(ReadinessRequiresNext);
        command.Add(Telemetry);
        command.Add(LogFormat);
        command.Add(Verbose);
        Security.AddTo(command);
        command.Add(OpenInference);
        command.Add(GrpcListen);
    }

    /// <summary>Builds the serving host for the stage <paramref name="addStage"/> adds, with these settings.</summary>
    public WebApplication Build(ParseResult parse, string stageName, Action<GraphPipeServingBuilder> addStage)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var format = parse.GetValue(LogFormat);
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        }
        else if (string.Equals(format, "text", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        }
        else
        {
            throw CliException.Usage($"--log-format: '{format}' is not text or json");
        }

        builder.Logging.SetMinimumLevel(parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Warning);
        builder.Logging.AddFilter("GraphPipe", parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information);
        // A failed start (port in use) is reported by RunAsync as one line; the host's own error log would add a 3 KB stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Critical);
        var tls = Security.ConfigureListener(builder, parse, Listen, GrpcListen);

        var serving = builder.Services.AddGraphPipeServing(o =>
        {
            o.MaxRequestBytes = parse.GetValue(MaxRequestBytes);
            o.RequestTimeout = parse.GetValue(RequestTimeout);
            o.MaxConcurrentRequests = parse.GetValue(MaxConcurrency);
            o.MaxQueuedRequests = parse.GetValue(MaxQueue);
            o.ShutdownTimeout = parse.GetValue(ShutdownTimeout);
            o.DrainDelay = parse.GetValue(DrainDelay);
            o.BodyReadTimeout = parse.GetValue(BodyTimeout);
            o.MinRequestBodyBytesPerSecond = parse.GetValue(MinBodyRate);
            o.ReadinessRequiresNextStage = parse.GetValue(ReadinessRequiresNext);
            foreach (var name in CliOptions.SplitList(parse.GetValue(Inputs))) o.DefaultInputs.Add(name);
            foreach (var name in CliOptions.SplitList(parse.GetValue(Outputs))) o.DefaultOutputs.Add(name);
        });
        addStage(serving);
        Security.AddApiKey(serving, parse);
        var grpcListen = parse.GetValue(GrpcListen);
        var openInference = parse.GetValue(OpenInference);
        if (grpcListen is not null && !openInference)
        {
            throw CliException.Usage("--grpc-listen needs the Open Inference Protocol on (--oip false turns it off)");
        }

        if (openInference)
        {
            if (grpcListen is not null)
            {
                try
                {
                    ListenAddress.Parse(grpcListen);
                }
                catch (FormatException ex)
                {
                    throw CliException.Usage($"--grpc-listen: {ex.Message}");
                }
            }

            serving.AddOpenInference(o =>
            {
                o.GrpcListen = grpcListen;
                // The gRPC port takes the HTTP listener's certificate and client CA: no plaintext side door.
                o.GrpcTls = tls;
            });
        }

        if (parse.GetValue(Telemetry))
        {
            serving.AddTelemetry(stageName);
        }

        var app = builder.Build();
        app.MapGraphPipe();
        if (openInference)
        {
            app.MapOpenInference();
        }

        return app;
    }

    /// <summary>Runs the host until Ctrl+C/SIGTERM, printing the bound address once listening.</summary>
    public static async Task<int> RunAsync(WebApplication app, CancellationToken cancellationToken)
    {
        var stage = app.Services.GetRequiredService<GraphPipe.Server.Serving.StageCatalog>().Default.Stage;
        var defaults = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GraphPipeServerOptions>>().Value;
        ValidateDefaults(stage.Metadata, defaults);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw ListenFailure.Describe(ex);
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            throw CliException.Usage($"invalid settings: {ex.Message}");
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var metadata = stage.Metadata;
        var grpc = app.Services.GetOpenInferenceGrpcAddress();
        Console.Out.WriteLine($"graphpipe: serving '{metadata.Name}' on {string.Join(", ", grpc is null ? addresses : addresses.Where(a => new Uri(a).Port != grpc.Port))}");
        if (grpc is not null)
        {
            Console.Out.WriteLine($"  gRPC (Open Inference Protocol): {grpc}");
        }

        Console.Out.WriteLine($"  inputs:  {string.Join("; ", metadata.Inputs)}");
        Console.Out.WriteLine($"  outputs: {string.Join("; ", metadata.Outputs)}");
        Console.Out.Flush();
        // SIGTERM/Ctrl+C reach the host's console lifetime (the command line's own handler is off, see
        // Program.cs), which drains and then waits for in-flight requests before this returns.
        await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    private static void ValidateDefaults(StageMetadata metadata, GraphPipeServerOptions options)
    {
        foreach (var name in options.DefaultInputs)
        {
            if (metadata.Inputs.Find(name) is null)
            {
                throw CliException.Usage($"--inputs: '{name}' is not an input of '{metadata.Name}' (inputs: {string.Join(", ", metadata.Inputs.Select(i => i.Name))})");
            }
        }

        foreach (var name in options.DefaultOutputs)
        {
            if (metadata.Outputs.Find(name) is null)
            {
                throw CliException.Usage($"--outputs: '{name}' is not an output of '{metadata.Name}' (outputs: {string.Join(", ", metadata.Outputs.Select(i => i.Name))})");
            }
        }
    }
}
