using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Classy;

internal static class ResultPrinter
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Table(IAnsiConsole console, string title, IReadOnlyList<Classification> results)
    {
        var table = new Table().Title(Markup.Escape(title)).AddColumns("image", "class", "score", "top-k");
        foreach (var r in results)
        {
            var name = Markup.Escape(ShortName(r.Image));
            if (r.Succeeded)
            {
                var topK = string.Join(", ", r.TopK.Select(t => $"{t.Label} {t.Score.ToString("0.00", CultureInfo.InvariantCulture)}"));
                table.AddRow(name, $"[green]{Markup.Escape(r.Label!)}[/]", r.Score.ToString("0.000", CultureInfo.InvariantCulture), Markup.Escape(topK));
            }
            else
            {
                table.AddRow(name, "[red]failed[/]", string.Empty, Markup.Escape(r.Error ?? "unknown error"));
            }
        }

        console.Write(table);
    }

    public static string ToJson(object value) => JsonSerializer.Serialize(value, Json);

    public static string ShortName(string image)
        => ClassyClient.IsUrl(image) ? image : Path.GetFileName(image);
}
