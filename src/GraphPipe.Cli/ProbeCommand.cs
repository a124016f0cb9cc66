using System.CommandLine;

namespace GraphPipe.Cli;

/// <summary>
/// <c>graphpipe probe URL</c>: GET a health endpoint, exit 0 on 2xx and 1 otherwise. For container
/// HEALTHCHECKs in images without curl (the runtime image has none).
/// </summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The URL to GET, e.g. http://127.0.0.1:9000/control/is_ready" };
        var timeout = CliOptions.Duration("--timeout", "GP_PROBE_TIMEOUT", "Time allowed for the answer", TimeSpan.FromSeconds(3));
        var auth = new OutboundSettings(string.Empty, "GP_PROBE_", "the probed host");
        var command = new Command("probe", "GET a URL (a health endpoint): exit 0 on 2xx, 1 otherwise") { url, timeout };
        auth.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var endpoint = ClientCommands.ParseUrl(parse.GetValue(url)!);
            using var http = ClientCommands.CreateHttpClient(parse, auth);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            limit.CancelAfter(parse.GetValue(timeout));
            using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
            if (auth.ApiKey(parse) is { } key)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }

            try
            {
                using var response = await http.SendAsync(request, limit.Token).ConfigureAwait(false);
                Console.Out.WriteLine($"{endpoint}: {(int)response.StatusCode} {response.ReasonPhrase}");
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (HttpRequestException ex)
            {
                Console.Out.WriteLine($"{endpoint}: not reachable: {ex.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Console.Out.WriteLine($"{endpoint}: no answer within {parse.GetValue(timeout).TotalSeconds:0.###} s");
                return 1;
            }
        });
        return command;
    }
}
