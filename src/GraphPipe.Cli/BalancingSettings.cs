using System.CommandLine;
using GraphPipe.Client.Balancing;

namespace GraphPipe.Cli;

/// <summary>Options of outgoing calls to replicated stages: retries (<c>--no-retry</c>), passive health and DNS refresh (see docs/load-balancing.md).</summary>
internal sealed class BalancingSettings
{
    public readonly Option<bool> NoRetry = CliOptions.Env("--no-retry", "GP_NO_RETRY", "Do not retry a call that got no response or a 503 on another replica (inference is idempotent; use for stages with side effects)", false);
    public readonly Option<int> EjectAfter = CliOptions.Env("--eject-after", "GP_EJECT_AFTER", "Consecutive failures (no response, 5xx) after which a replica gets no requests", 3);
    public readonly Option<TimeSpan> EjectFor = CliOptions.Duration("--eject-for", "GP_EJECT_FOR", "How long an ejected replica is left out before a request probes it", TimeSpan.FromSeconds(5));
    public readonly Option<TimeSpan> DnsRefresh = CliOptions.Duration("--dns-refresh", "GP_DNS_REFRESH", "How often dns:///name:port endpoints are resolved again", TimeSpan.FromSeconds(15));

    public void AddTo(Command command)
    {
        command.Add(NoRetry);
        command.Add(EjectAfter);
        command.Add(EjectFor);
        command.Add(DnsRefresh);
    }

    public BalancingOptions Options(ParseResult parse)
    {
        var options = new BalancingOptions
        {
            Retry = !parse.GetValue(NoRetry),
            FailuresToEject = parse.GetValue(EjectAfter),
            EjectionPeriod = parse.GetValue(EjectFor),
            DnsRefreshInterval = parse.GetValue(DnsRefresh),
        };
        try
        {
            options.Validate();
        }
        catch (System.ComponentModel.DataAnnotations.ValidationException ex)
        {
            throw CliException.Usage($"--eject-after/--eject-for/--dns-refresh: {ex.Message}");
        }

        return options;
    }

    /// <summary>The endpoint list of <paramref name="spec"/> (URLs separated by commas, or <c>dns:///name:port</c>); a usage error naming <paramref name="option"/> when it is not one.</summary>
    public static EndpointGroup Parse(string option, string spec, BalancingOptions options)
    {
        try
        {
            return EndpointGroup.Parse(string.Join(',', spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(AddScheme)), options);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage($"{option}: {ex.Message}");
        }
    }

    /// <summary><paramref name="spec"/> checked and with <c>http://</c> added where no scheme is given; a usage error naming <paramref name="option"/> otherwise.</summary>
    public static string Normalize(string option, string spec, BalancingOptions options)
    {
        using var group = Parse(option, spec, options);
        return string.Join(',', spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(AddScheme));
    }

    private static string AddScheme(string entry) => entry.Contains("://", StringComparison.Ordinal) || entry.StartsWith(EndpointGroup.DnsScheme + ":", StringComparison.Ordinal) ? entry : "http://" + entry;
}
