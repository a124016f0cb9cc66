using System.ComponentModel.DataAnnotations;
using GraphPipe.Pipelines;

namespace GraphPipe.Download;

/// <summary>Limits and safety settings of <see cref="DownloaderStage"/>.</summary>
public sealed class DownloaderOptions
{
    /// <summary>Downloads of one request running at once. Default 8.</summary>
    [Range(1, 1024)]
    public int MaxConcurrencyPerRequest { get; set; } = 8;

    /// <summary>Downloads running at once across all requests of the stage. Default 64.</summary>
    [Range(1, 65_536)]
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>Time allowed per URL, from sending the request to the last byte, redirects included. Default 10 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Further attempts after a transient failure (connection refused or reset, a premature close, HTTP
    /// 502/503/504), all within <see cref="Timeout"/>. Default 3; 0 turns retries off.
    /// </summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's delay; each further one doubles it (with jitter). Default 50 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Largest body accepted per URL, in bytes (at most 1 GiB, the largest pooled buffer). Default 20 MiB.</summary>
    [Range(1, 1L << 30)]
    public long MaxBytesPerImage { get; set; } = 20L * 1024 * 1024;

    /// <summary>
    /// Largest sum of bodies of one request, in bytes. Default 256 MiB. Without it a request of
    /// <see cref="MaxUrlsPerRequest"/> URLs could hold <c>MaxUrlsPerRequest * MaxBytesPerImage</c> bytes (5 GiB by default).
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxBytesPerRequest { get; set; } = 256L * 1024 * 1024;

    /// <summary>Redirects followed per URL; every hop is checked against <see cref="Policy"/>. Default 3.</summary>
    [Range(0, 20)]
    public int MaxRedirects { get; set; } = 3;

    /// <summary>URLs accepted in one request. Default 256.</summary>
    [Range(1, 100_000)]
    public int MaxUrlsPerRequest { get; set; } = 256;

    /// <summary>
    /// Refuse responses whose Content-Type is neither <c>image/*</c> nor <c>application/octet-stream</c>
    /// (an HTML error page is the usual culprit). Responses without a Content-Type are accepted. Default true.
    /// </summary>
    public bool CheckContentType { get; set; } = true;

    /// <summary>Which hosts may be fetched. Default: public addresses only (SSRF protection).</summary>
    public NetworkPolicy Policy { get; set; } = new();

    /// <summary>Name of the input holding the URLs. Default "urls".</summary>
    [Required]
    public string InputName { get; set; } = "urls";

    /// <summary>Name of the output holding the downloaded bytes. Default "images".</summary>
    [Required]
    public string OutputName { get; set; } = "images";

    /// <summary>Name reported in metadata and error messages. Default "download".</summary>
    [Required]
    public string Name { get; set; } = "download";

    internal DownloaderOptions Clone() => (DownloaderOptions)MemberwiseClone();

    /// <summary>Throws <see cref="ValidationException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (Timeout <= TimeSpan.Zero || Timeout == System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ValidationException($"{nameof(Timeout)} must be positive.");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > TimeSpan.FromSeconds(10))
        {
            throw new ValidationException($"{nameof(RetryDelay)} must be between 0 and 10 s.");
        }

        if (Policy is null)
        {
            throw new ValidationException($"{nameof(Policy)} is required.");
        }
    }
}
