using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using GraphPipe.Wire;
using Spectre.Console;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe bench URL ...</c>: a load generator for any GraphPipe endpoint.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The endpoint to load, e.g. http://127.0.0.1:9000; replicas: URLs separated by commas, or dns:///name:port" };
        var npy = new Argument<string[]>("inputs") { Description = "Input tensors as .npy files (NAME=FILE.npy to name one)", Arity = ArgumentArity.ZeroOrMore };
        var images = new Option<string[]>("--image") { Description = "Image files sent as one string tensor (one element per file)", AllowMultipleArgumentsPerToken = true };
        var urls = new Option<string[]>("--url") { Description = "URLs sent as one string tensor (for a downloader)", AllowMultipleArgumentsPerToken = true };
        var config = new Option<string?>("--config", "-c") { Description = "Config string of every request (e.g. the next stage's URL)" };
        var outputs = new Option<string?>("--outputs", "-o") { Description = "Comma-separated output names to request" };
        var concurrency = new Option<string>("--concurrency") { Description = "Concurrency levels: 1,2,4,8 or a doubling range 1-8", DefaultValueFactory = _ => "1" };
        var duration = CliOptions.Duration("--duration", "GP_BENCH_DURATION", "Measuring time per level (ignored with --requests)", TimeSpan.FromSeconds(10));
        var requests = new Option<int?>("--requests") { Description = "Requests per level instead of a duration" };
        var warmup = CliOptions.Duration("--warmup", "GP_BENCH_WARMUP", "Warm-up time per level, not measured", TimeSpan.FromSeconds(2));
        var timeout = CliOptions.Duration("--timeout", "GP_BENCH_TIMEOUT", "Timeout of one request", TimeSpan.FromSeconds(30));
        var json = new Option<bool>("--json") { Description = "Print the results as JSON" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow a target that is not on loopback" };
        var command = new Command("bench", "Load-test a GraphPipe endpoint: throughput and latency percentiles per concurrency level")
        {
            url, npy, images, urls, config, outputs, concurrency, duration, requests, warmup, timeout, json, allowRemote,
        };
        var connection = new ClientConnection();
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var levels = LoadGenerator.ParseConcurrency(parse.GetValue(concurrency)!);
            using var target = connection.Open(parse, "url", parse.GetValue(url)!, levels.Max());
            var endpoint = target.Endpoint;
            if (!parse.GetValue(allowRemote))
            {
                foreach (var replica in await target.Replicas.GetEndpointsAsync(ct).ConfigureAwait(false))
                {
                    if (!await IsLoopbackAsync(replica.Address, ct).ConfigureAwait(false))
                    {
                        throw CliException.Usage($"{replica.Address.Host} is not a loopback address; pass --allow-remote to load a remote server");
                    }
                }
            }

            if (target.ApiKey is { } key)
            {
                target.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }

            var (names, tensors) = Inputs(parse.GetValue(npy) ?? [], parse.GetValue(images) ?? [], parse.GetValue(urls) ?? []);
            var body = new GraphPipeWriter().WriteInferRequest(new InferRequest
            {
                Config = parse.GetValue(config) ?? string.Empty,
                InputNames = names,
                Inputs = tensors,
                OutputNames = CliOptions.SplitList(parse.GetValue(outputs)),
            }).ToArray();
            var rows = tensors[0].Shape.Length == 0 ? 1 : (int)Math.Max(1, tensors[0].Shape[0]);
            var requestCount = parse.GetValue(requests);
            if (requestCount is < 1 or > 10_000_000)
            {
                throw CliException.Usage("--requests must be between 1 and 10000000");
            }

            var measure = parse.GetValue(duration);
            if (requestCount is null && (measure <= TimeSpan.Zero || measure > TimeSpan.FromHours(1)))
            {
                throw CliException.Usage("--duration must be between 0 and 1h");
            }

            var generator = new LoadGenerator(target.Http, TimeProvider.System);
            var results = new List<LoadResult>();
            var quiet = parse.GetValue(json) || !AnsiConsole.Profile.Capabilities.Interactive;
            foreach (var level in levels)
            {
                var settings = new LoadSettings(endpoint, body, level, requestCount is null ? measure : null, requestCount, parse.GetValue(warmup), parse.GetValue(timeout), rows);
                if (quiet)
                {
                    results.Add(await generator.RunAsync(settings, null, ct).ConfigureAwait(false));
                    continue;
                }

                await AnsiConsole.Progress().AutoClear(true).StartAsync(async context =>
                {
                    var task = requestCount is { } n
                        ? context.AddTask($"concurrency {level}", maxValue: n)
                        : context.AddTask($"concurrency {level}", maxValue: measure.TotalSeconds);
                    var started = DateTime.UtcNow;
                    using var ticker = new Timer(_ => { if (requestCount is null) task.Value = Math.Min(measure.TotalSeconds, (DateTime.UtcNow - started).TotalSeconds - settings.Warmup.TotalSeconds); }, null, 200, 200);
                    results.Add(await generator.RunAsync(settings, done => { if (requestCount is not null) task.Value = done; }, ct).ConfigureAwait(false));
                }).ConfigureAwait(false);
            }

            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new { endpoint = endpoint.ToString(), rowsPerRequest = rows, levels = results }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
            }
            else
            {
                Print(endpoint, rows, results);
            }

            return results.All(r => r.Succeeded == r.Requests) ? 0 : 1;
        });
        return command;
    }

    private static (string[] Names, Tensor[] Tensors) Inputs(string[] npyFiles, string[] imageFiles, string[] urlList)
    {
        var names = new List<string>();
        var tensors = new List<Tensor>();
        foreach (var spec in npyFiles)
        {
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var path = eq > 0 ? spec[(eq + 1)..] : spec;
            if (!File.Exists(path)) throw new CliException($"file '{path}' does not exist");
            names.Add(eq > 0 ? spec[..eq] : string.Empty);
            tensors.Add(Npy.Read(path));
        }

        if (imageFiles.Length > 0)
        {
            var values = imageFiles.SelectMany(CliOptions.SplitList).Select(f => File.Exists(f) ? (ReadOnlyMemory<byte>)File.ReadAllBytes(f) : throw new CliException($"file '{f}' does not exist")).ToArray();
            names.Add(string.Empty);
            tensors.Add(Tensor.FromStrings(values));
        }

        if (urlList.Length > 0)
        {
            names.Add(string.Empty);
            tensors.Add(Tensor.FromStrings(urlList.SelectMany(CliOptions.SplitList).ToArray()));
        }

        return tensors.Count == 0 ? throw CliException.Usage("no inputs: give .npy files, --image FILE or --url URL") : ([.. names], [.. tensors]);
    }

    private static async Task<bool> IsLoopbackAsync(Uri endpoint, CancellationToken ct)
    {
        if (endpoint.IsLoopback) return true;
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(endpoint.IdnHost, ct).ConfigureAwait(false);
            return addresses.Length > 0 && addresses.All(IPAddress.IsLoopback);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static void Print(Uri endpoint, int rows, List<LoadResult> results)
    {
        var table = new Table().Title($"graphpipe bench {endpoint} ({rows} row(s)/request; latency in ms; bytes per request)")
            .AddColumns("conc", "reqs", "req/s", "rows/s", "p50", "p90", "p99", "max", "B out", "B in", "errors");
        foreach (var r in results)
        {
            string F(double v) => v.ToString(v >= 100 ? "0" : "0.00", CultureInfo.InvariantCulture);
            var errors = r.Errors.Count == 0 ? "0" : string.Join(", ", r.Errors.Select(e => $"{e.Key}: {e.Value}"));
            table.AddRow(r.Concurrency.ToString(CultureInfo.InvariantCulture), r.Requests.ToString(CultureInfo.InvariantCulture), F(r.RequestsPerSecond), F(r.RowsPerSecond), F(r.P50Ms), F(r.P90Ms), F(r.P99Ms), F(r.MaxMs),
                r.BytesSentPerRequest.ToString("N0", CultureInfo.InvariantCulture), r.BytesReceivedPerRequest.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(errors));
        }

        AnsiConsole.Write(table);
    }
}
