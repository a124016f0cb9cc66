using System.Text.Encodings.Web;
using System.Text.Json;

namespace GraphPipe.Server.Serving;

/// <summary>A request feature: this request's errors are answered as <c>{"error": "..."}</c> (set by JSON protocol endpoints).</summary>
internal sealed class JsonErrors
{
    public const string ContentType = "application/json";

    public static readonly JsonErrors Instance = new();

    private JsonErrors()
    {
    }

    public static byte[] Encode(string message)
    {
        using var buffer = new MemoryStream(message.Length + 16);
        // Relaxed escaping: an API answer, not HTML; quotes in stage messages stay readable.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
