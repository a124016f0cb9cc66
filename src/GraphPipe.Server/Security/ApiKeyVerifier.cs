using System.Security.Cryptography;
using System.Text;
using GraphPipe.Client;
using Microsoft.Extensions.Options;

namespace GraphPipe.Server.Security;

/// <summary>
/// Checks a presented key against the configured ones in constant time: both sides are hashed (SHA-256) so
/// neither the content nor the length of a key leaks through timing, and every key is compared.
/// </summary>
internal sealed class ApiKeyVerifier
{
    private const int HashBytes = 32;
    private readonly byte[][] _hashes;

    public ApiKeyVerifier(IOptions<ApiKeyOptions> options)
    {
        _hashes = options.Value.Keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
        AllowAnonymousMetrics = options.Value.AllowAnonymousMetrics;
    }

    public bool AllowAnonymousMetrics { get; }

    /// <summary>Whether <paramref name="key"/> is one of the configured keys.</summary>
    public bool IsValid(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty || key.Length > ApiKeys.MaxLength)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[ApiKeys.MaxLength * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[HashBytes];
        SHA256.HashData(utf8[..length], hash);
        var match = false;
        foreach (var expected in _hashes)
        {
            match |= CryptographicOperations.FixedTimeEquals(hash, expected);
        }

        return match;
    }
}
