using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Connections;

namespace GraphPipe.Cli;

/// <summary>Turns Kestrel's bind failure into the one line a user needs: which address, and why.</summary>
internal static partial class ListenFailure
{
    public static CliException Describe(IOException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        // Kestrel names the address only in its message: "Failed to bind to address http://127.0.0.1:9000: address already in use."
        var match = BindMessage().Match(exception.Message);
        if (exception.InnerException is AddressInUseException && match.Success)
        {
            return new CliException($"cannot listen on {match.Groups["address"].Value}: address already in use");
        }

        return new CliException($"cannot listen: {exception.Message}");
    }

    [GeneratedRegex(@"address (?:https?://)?(?<address>\S+?):\s", RegexOptions.CultureInvariant)]
    private static partial Regex BindMessage();
}
