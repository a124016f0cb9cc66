using System.CommandLine;
using System.Globalization;
using System.Text;
using GraphPipe.Client;
using GraphPipe.Client.Balancing;

namespace GraphPipe.Cli;

/// <summary><c>graphpipe metadata URL</c> and <c>graphpipe infer URL ...</c>.</summary>
internal static class ClientCommands
{
    private static readonly Option<TimeSpan> Timeout = CliOptions.Duration("--timeout", "GP_TIMEOUT", "Time allowed for the call", TimeSpan.FromSeconds(60));

    public static Command Metadata()
    {
        var url = new Argument<string>("url") { Description = "The stage URL, e.g. http://127.0.0.1:9000; replicas: URLs separated by commas, or dns:///name:port" };
        var json = new Option<bool>("--json") { Description = "Print the raw JSON the server gives on GET" };
        var command = new Command("metadata", "Print a stage's metadata (name, inputs, outputs)") { url, json, Timeout };
        var connection = new ClientConnection();
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            using var target = connection.Open(parse, "url", parse.GetValue(url)!);
            var http = target.Http;
            var endpoint = target.Endpoint;
            if (parse.GetValue(json))
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(parse.GetValue(Timeout));
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
                    if (target.ApiKey is { } key)
                    {
                        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                    }

                    using var response = await http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                    var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new CliException($"{endpoint} failed with {(int)response.StatusCode} {response.StatusCode}: {text.Trim()}");
                    }

                    Console.Out.WriteLine(text);
                }
                catch (HttpRequestException ex)
                {
                    throw new CliException($"{endpoint} could not be reached: {ex.Message}");
                }

                return 0;
            }

            var client = new GraphPipeClient(http, endpoint, new GraphPipeClientOptions { Timeout = parse.GetValue(Timeout), ApiKey = target.ApiKey });
            var metadata = await client.GetMetadataAsync(ct).ConfigureAwait(false);
            var sb = new StringBuilder();
            sb.AppendLine(CultureInfo.InvariantCulture, $"name:        {metadata.Name}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"version:     {metadata.Version}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"server:      {metadata.Server}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"description: {metadata.Description}");
            AppendIo(sb, "inputs", metadata.Inputs);
            AppendIo(sb, "outputs", metadata.Outputs);
            Console.Out.Write(sb.ToString());
            return 0;
        });
        return command;
    }

    public static Command Infer()
    {
        var url = new Argument<string>("url") { Description = "The stage URL, e.g. http://127.0.0.1:9000; replicas: URLs separated by commas, or dns:///name:port" };
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Input tensors as .npy files: FILE.npy (default name by position) or NAME=FILE.npy",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var files = new Option<string[]>("--bytes")
        {
            Description = "Send these files' bytes (e.g. images) as one string tensor, one element per file; NAME=FILE,FILE to name it",
            AllowMultipleArgumentsPerToken = true,
        };
        var outputs = new Option<string?>("--outputs", "-o") { Description = "Comma-separated output names (default: the stage's)" };
        var config = new Option<string?>("--config", "-c") { Description = "The request's config string (e.g. the next stage's URL)" };
        var outDir = new Option<string?>("--out") { Description = "Write each output to DIR/NAME.npy instead of printing it" };
        var command = new Command("infer", "Send tensors from .npy files to a stage; print the outputs or save them as .npy") { url, inputs, files, outputs, config, outDir, Timeout };
        var connection = new ClientConnection();
        connection.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            using var target = connection.Open(parse, "url", parse.GetValue(url)!);
            var endpoint = target.Endpoint;
            var names = new List<string>();
            var tensors = new List<Tensor>();
            foreach (var spec in parse.GetValue(inputs) ?? [])
            {
                var (name, path) = SplitNamed(spec);
                names.Add(name);
                tensors.Add(Npy.Read(RequireFile(path)));
            }

            foreach (var spec in parse.GetValue(files) ?? [])
            {
                var (name, list) = SplitNamed(spec);
                var values = CliOptions.SplitList(list).Select(f => (ReadOnlyMemory<byte>)File.ReadAllBytes(RequireFile(f))).ToArray();
                names.Add(name);
                tensors.Add(Tensor.FromStrings(values));
            }

            if (tensors.Count == 0)
            {
                throw CliException.Usage("no inputs: give at least one FILE.npy or --bytes FILE");
            }

            var client = new GraphPipeClient(target.Http, endpoint, new GraphPipeClientOptions { Timeout = parse.GetValue(Timeout), ApiKey = target.ApiKey });
            var outputNames = CliOptions.SplitList(parse.GetValue(outputs));
            // Responses carry no names: label default outputs with the stage's output names.
            var labels = outputNames.Length > 0 ? outputNames : (await client.GetMetadataAsync(ct).ConfigureAwait(false)).Outputs.Select(o => o.Name).ToArray();
            var response = await client.InferAsync(new InferRequest
            {
                Config = parse.GetValue(config) ?? string.Empty,
                InputNames = names,
                Inputs = tensors,
                OutputNames = outputNames,
            }, ct).ConfigureAwait(false);

            var dir = parse.GetValue(outDir);
            if (dir is not null)
            {
                Directory.CreateDirectory(dir);
            }

            for (var i = 0; i < response.Outputs.Count; i++)
            {
                var name = i < labels.Length ? labels[i] : $"output{i}";
                var tensor = response.Outputs[i];
                if (dir is not null)
                {
                    var path = Path.Combine(dir, SafeFileName(name) + ".npy");
                    Npy.Write(path, tensor);
                    Console.Out.WriteLine($"{name}: {tensor} -> {path}");
                }
                else
                {
                    Console.Out.WriteLine($"{name}: {tensor}");
                    Console.Out.WriteLine("  " + TensorText.Format(tensor, 32));
                }
            }

            return 0;
        });
        return command;
    }

    internal static HttpClient CreateHttpClient() => new(NewTransport())
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    /// <summary>A client with the command's TLS settings (<c>--ca</c>, <c>--client-cert</c>, ...).</summary>
    internal static HttpClient CreateHttpClient(ParseResult parse, OutboundSettings auth)
        => new(auth.CreateHandler(parse, NewTransport())) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

    /// <summary>A client that spreads calls to <paramref name="replicas"/>'s address over its replicas, with retries (see docs/load-balancing.md).</summary>
    internal static HttpClient CreateHttpClient(EndpointGroup replicas) => new(GraphPipeBalancing.CreateHandler([replicas], NewTransport()))
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan,
    };

    private static SocketsHttpHandler NewTransport() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    internal static Uri ParseUrl(string text)
    {
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "http://" + text;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw CliException.Usage($"'{text}' is not an http(s) URL");
    }

    private static (string Name, string Value) SplitNamed(string spec)
    {
        var eq = spec.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 ? (spec[..eq], spec[(eq + 1)..]) : (string.Empty, spec);
    }

    private static string RequireFile(string path)
        => File.Exists(path) ? path : throw new CliException($"file '{path}' does not exist");

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        return new string(name.Select(c => invalid.Contains(c) || c == ':' ? '_' : c).ToArray());
    }

    private static void AppendIo(StringBuilder sb, string title, IReadOnlyList<IOMetadata> items)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"{title}:");
        foreach (var io in items)
        {
            var description = string.IsNullOrEmpty(io.Description) ? string.Empty : $"  ({io.Description})";
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {io.Name,-24} {io.Type.ToWireName(),-8} {Tensor.FormatShape(io.Shape.AsSpan())}{description}");
        }
    }
}

/// <summary>Renders tensor values for the terminal.</summary>
internal static class TensorText
{
    public static string Format(Tensor tensor, int maxElements)
    {
        var parts = new List<string>();
        var count = (int)Math.Min(tensor.ElementCount, maxElements);
        if (tensor.IsString)
        {
            for (var i = 0; i < count; i++)
            {
                var bytes = tensor.Strings[i].Span;
                parts.Add(IsPrintable(bytes) ? $"\"{Encoding.UTF8.GetString(bytes)}\"" : $"<{bytes.Length} bytes>");
            }
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                parts.Add(Element(tensor, i));
            }
        }

        var more = tensor.ElementCount > count ? $", ... ({tensor.ElementCount} elements)" : string.Empty;
        return "[" + string.Join(", ", parts) + more + "]";
    }

    private static string Element(Tensor t, int i) => t.Type switch
    {
        TensorType.UInt8 => t.AsSpan<byte>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.Int8 => t.AsSpan<sbyte>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.UInt16 => t.AsSpan<ushort>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.Int16 => t.AsSpan<short>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.UInt32 => t.AsSpan<uint>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.Int32 => t.AsSpan<int>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.UInt64 => t.AsSpan<ulong>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.Int64 => t.AsSpan<long>()[i].ToString(CultureInfo.InvariantCulture),
        TensorType.Float16 => ((float)t.AsSpan<Half>()[i]).ToString("G6", CultureInfo.InvariantCulture),
        TensorType.Float32 => t.AsSpan<float>()[i].ToString("G6", CultureInfo.InvariantCulture),
        TensorType.Float64 => t.AsSpan<double>()[i].ToString("G8", CultureInfo.InvariantCulture),
        _ => "?",
    };

    private static bool IsPrintable(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b < 0x20 && b != (byte)'\t') return false;
        }

        return bytes.Length < 200 && Encoding.UTF8.GetCharCount(bytes) > 0 || bytes.IsEmpty;
    }
}
