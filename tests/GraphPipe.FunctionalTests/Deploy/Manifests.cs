using System.CommandLine;
using System.Text.RegularExpressions;
using GraphPipe.Cli;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace GraphPipe.FunctionalTests.Deploy;

/// <summary>The repository's deploy files read as data: YAML documents as maps and lists, and the CLI's real command definitions to check them against.</summary>
internal static partial class Manifests
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([RepoRoot, .. parts]);

    /// <summary>Every YAML document of <paramref name="file"/>, as nested maps (string keys), lists and scalar strings.</summary>
    public static List<Dictionary<object, object>> Load(string file)
    {
        var deserializer = new DeserializerBuilder().Build();
        using var reader = new StringReader(File.ReadAllText(file));
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (deserializer.Deserialize<Dictionary<object, object>>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    /// <summary>The node at <paramref name="path"/> (map keys as strings, list indexes as ints), or null.</summary>
    public static object? At(object? node, params object[] path)
    {
        foreach (var step in path)
        {
            node = (node, step) switch
            {
                (Dictionary<object, object> map, string key) => map.GetValueOrDefault(key),
                (List<object> list, int index) when index < list.Count => list[index],
                _ => null,
            };
        }

        return node;
    }

    public static string? Text(object? node, params object[] path) => At(node, path) as string;

    public static int Int(object? node, params object[] path) => int.Parse(Text(node, path) ?? throw new InvalidOperationException($"no value at {string.Join('.', path)}"), System.Globalization.CultureInfo.InvariantCulture);

    public static List<object> List(object? node, params object[] path) => At(node, path) as List<object> ?? [];

    public static Dictionary<object, object> Map(object? node, params object[] path) => At(node, path) as Dictionary<object, object> ?? [];

    public static string Kind(Dictionary<object, object> document) => Text(document, "kind") ?? string.Empty;

    public static string Name(Dictionary<object, object> document) => Text(document, "metadata", "name") ?? string.Empty;

    /// <summary>The graphpipe command line as the program defines it (serve commands and probe).</summary>
    public static RootCommand GraphPipe() => new("graphpipe") { ServeCommands.Create(), ProbeCommand.Create() };

    /// <summary>Parses <paramref name="args"/> with the CLI's definitions; fails the test on any parse error or unknown token.</summary>
    public static ParseResult ParseCli(IEnumerable<string> args)
    {
        var list = args.ToArray();
        var parse = GraphPipe().Parse(list);
        Assert.True(parse.Errors.Count == 0 && parse.UnmatchedTokens.Count == 0,
            $"'{string.Join(' ', list)}': {string.Join("; ", parse.Errors.Select(e => e.Message).Concat(parse.UnmatchedTokens))}");
        return parse;
    }

    /// <summary>The value of <paramref name="flag"/> in a parsed command line (its own option, by name).</summary>
    public static T? Value<T>(ParseResult parse, string flag)
    {
        var option = parse.CommandResult.Command.Options.OfType<Option<T>>().Single(o => o.Name == flag);
        return parse.GetValue(option);
    }

    /// <summary>Environment variables the options of <paramref name="command"/> read (<c>[env: GP_X]</c> in their help).</summary>
    public static HashSet<string> EnvironmentNames(Command command)
        => command.Options.Select(o => EnvTag().Match(o.Description ?? string.Empty)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    public static Command Subcommand(string path)
    {
        Command command = GraphPipe();
        foreach (var name in path.Split(' '))
        {
            command = command.Subcommands.Single(c => c.Name == name);
        }

        return command;
    }

    [GeneratedRegex(@"\[env: (GP_[A-Z0-9_]+)\]")]
    private static partial Regex EnvTag();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "GraphPipe.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("repository root (GraphPipe.slnx) not found above " + AppContext.BaseDirectory);
    }
}
