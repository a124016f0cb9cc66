using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GraphPipe.Cli;

/// <summary>Option factories: every serve option can also come from an environment variable (e.g. <c>GP_MODEL</c>).</summary>
internal static class CliOptions
{
    public static Option<T> Env<T>(string name, string env, string description, T defaultValue, params string[] aliases)
    {
        var option = new Option<T>(name, aliases)
        {
            Description = $"{description} [env: {env}]",
            DefaultValueFactory = _ => FromEnvironment(env, defaultValue),
        };
        return option;
    }

    public static Option<string?> EnvString(string name, string env, string description, string? defaultValue, params string[] aliases)
        => Env<string?>(name, env, description, defaultValue, aliases);

    private static T FromEnvironment<T>(string env, T defaultValue)
    {
        var raw = Environment.GetEnvironmentVariable(env);
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        try
        {
            var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
            if (target == typeof(TimeSpan))
            {
                return (T)(object)(TryParseDuration(raw, out var duration) ? duration : throw new FormatException());
            }

            if (target == typeof(bool))
            {
                return (T)(object)(raw is "1" || raw.Equals("true", StringComparison.OrdinalIgnoreCase) || raw.Equals("yes", StringComparison.OrdinalIgnoreCase));
            }

            return (T)Convert.ChangeType(raw, target, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException)
        {
            throw CliException.Usage($"environment variable {env}='{raw}' is not a valid {typeof(T).Name}");
        }
    }

    /// <summary>Parses durations like <c>30s</c>, <c>500ms</c>, <c>2m</c>, plain seconds, or <c>hh:mm:ss</c> (the form help shows defaults in).</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        text = text.Trim();
        var (number, unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 1e-3),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ when text.EndsWith('h') => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && double.IsFinite(amount) && Math.Abs(amount * unit) < TimeSpan.MaxValue.TotalSeconds)
        {
            value = TimeSpan.FromSeconds(amount * unit);
            return true;
        }

        value = default;
        // Only the invariant "c" format (d.hh:mm:ss.fff): the general one would read a bare "5" as five days.
        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out value);
    }

    private static string NotADuration(string text) => $"'{text.Trim()}' is not a duration (e.g. 30s, 500ms, 2m, 00:01:30)";

    public static Option<TimeSpan> Duration(string name, string env, string description, TimeSpan defaultValue)
        => new(name)
        {
            Description = $"{description} [env: {env}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) is not { Length: > 0 } raw ? defaultValue
                : TryParseDuration(raw, out var value) ? value : throw CliException.Usage($"environment variable {env}: {NotADuration(raw)}"),
            // A parse error, not an exception: the parser reports it as one usage line (exit 2) like any other bad value.
            CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[0].Value : "0";
                if (TryParseDuration(text, out var value)) return value;
                r.AddError($"{name}: {NotADuration(text)}");
                return default;
            },
        };

    public static string[] SplitList(string? value)
        => string.IsNullOrWhiteSpace(value) ? [] : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
