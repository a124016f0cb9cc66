using System.ComponentModel.DataAnnotations;

namespace Classy.Web;

/// <summary>What <see cref="ClassyWebApp"/> serves: where it listens and the stages it proxies to.</summary>
public sealed class ClassyWebOptions
{
    /// <summary><c>HOST:PORT</c> the page is served on. Default <c>127.0.0.1:8080</c> (loopback only); port 0 picks a free one.</summary>
    [Required]
    public string Listen { get; init; } = "127.0.0.1:8080";

    /// <summary>The stages the page calls through the same-origin proxy (<c>/stages/{name}/</c>); the hybrid route names their own addresses.</summary>
    [Required]
    public required ClassyEndpoints Stages { get; init; }

    /// <summary>Directory of sample images the page offers ("Try the samples"); null or missing: none.</summary>
    public string? SamplesDirectory { get; init; }

    /// <summary>Largest request body the proxy accepts (an uploaded image, or a client-sequenced tensor). Default 64 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Time a stage may take to answer one proxied call. Default 2 minutes.</summary>
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromMinutes(2);

    internal void Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        if (StageTimeout <= TimeSpan.Zero)
        {
            throw new ValidationException($"{nameof(StageTimeout)} must be positive.");
        }
    }
}
