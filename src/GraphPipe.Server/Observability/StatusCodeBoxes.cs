namespace GraphPipe.Server;

/// <summary>Boxed HTTP status codes for metric tags, so recording a status allocates nothing.</summary>
internal static class StatusCodeBoxes
{
    private static readonly object[] Boxes = Enumerable.Range(0, 600).Select(i => (object)i).ToArray();

    public static object Get(int status) => (uint)status < (uint)Boxes.Length ? Boxes[status] : status;
}
