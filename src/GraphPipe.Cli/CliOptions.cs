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
                return (T)(object)ParseDuration(raw);
            }

            if (target == typeof(bool))
            {
                return (T)(object)(raw is "1" || raw.Equals("true", StringComparison.OrdinalIgnoreCase) || raw.Equals("yes", StringComparison.OrdinalIgnoreCase));
            }

            return (T)Convert.ChangeType(raw, target, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException)
        {
            throw new CliException($"environment variable {env}='{raw}' is not a valid {typeof(T).Name}");
        }
    }

    /// <summary>Parses durations like <c>30s</c>, <c>500ms</c>, <c>2m</c> or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        double Number(int suffix) => double.Parse(text.AsSpan(0, text.Length - suffix), CultureInfo.InvariantCulture);
        try
        {
            if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) return TimeSpan.FromMilliseconds(Number(2));
            if (text.EndsWith('s')) return TimeSpan.FromSeconds(Number(1));
            if (text.EndsWith('m')) return TimeSpan.FromMinutes(Number(1));
            if (text.EndsWith('h')) return TimeSpan.FromHours(Number(1));
            return TimeSpan.FromSeconds(double.Parse(text, CultureInfo.InvariantCulture));
        }
        catch (FormatException)
        {
            throw new CliException($"'{text}' is not a duration (e.g. 30s, 500ms, 2m)");
        }
    }

    public static Option<TimeSpan> Duration(string name, string env, string description, TimeSpan defaultValue)
        => new(name)
        {
            Description = $"{description} [env: {env}]",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(env) is { Length: > 0 } raw ? ParseDuration(raw) : defaultValue,
            CustomParser = r => ParseDuration(r.Tokens.Count > 0 ? r.Tokens[0].Value : "0"),
        };

    public static string[] SplitList(string? value)
        => string.IsNullOrWhiteSpace(value) ? [] : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>A user-facing failure: printed as one line, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);
