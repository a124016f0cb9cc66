using System.Text.Json;

namespace GraphPipe.Server.GraphPipeProtocol;

/// <summary>A stage's metadata as JSON, the answer to a GET (as the reference servers give it).</summary>
internal static class MetadataJson
{
    public static byte[] Write(StageMetadata metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("name", metadata.Name);
            json.WriteString("version", metadata.Version);
            json.WriteString("server", metadata.Server);
            json.WriteString("description", metadata.Description);
            WriteIo(json, "inputs", metadata.Inputs);
            WriteIo(json, "outputs", metadata.Outputs);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteIo(Utf8JsonWriter json, string name, IReadOnlyList<IOMetadata> items)
    {
        json.WriteStartArray(name);
        foreach (var io in items)
        {
            json.WriteStartObject();
            json.WriteString("name", io.Name);
            json.WriteString("description", io.Description);
            json.WriteStartArray("shape");
            foreach (var d in io.Shape)
            {
                json.WriteNumberValue(d);
            }

            json.WriteEndArray();
            json.WriteString("type", io.Type.ToWireName());
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
