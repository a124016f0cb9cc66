using System.ComponentModel.DataAnnotations;
using GraphPipe.Client;

namespace GraphPipe.Server;

/// <summary>
/// An API key every request must carry as <c>Authorization: Bearer KEY</c> (see
/// <see cref="ApiKeyExtensions.AddApiKey"/>). Health endpoints stay open for probes.
/// </summary>
public sealed class ApiKeyOptions : IValidatableObject
{
    /// <summary>The keys accepted (several allow a rotation without downtime).</summary>
    public IList<string> Keys { get; } = new List<string>();

    /// <summary>Serve <c>/metrics</c> without a key (e.g. for a scraper inside a trusted network). Default false: metrics need the key too.</summary>
    public bool AllowAnonymousMetrics { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Keys.Count == 0)
        {
            yield return new ValidationResult("ApiKeyOptions.Keys: at least one key is required.", [nameof(Keys)]);
        }

        foreach (var key in Keys)
        {
            string? problem = null;
            try
            {
                ApiKeys.Check(key);
            }
            catch (InvalidDataException ex)
            {
                problem = ex.Message;
            }

            if (problem is not null)
            {
                yield return new ValidationResult($"ApiKeyOptions.Keys: {problem}.", [nameof(Keys)]);
            }
        }
    }
}
