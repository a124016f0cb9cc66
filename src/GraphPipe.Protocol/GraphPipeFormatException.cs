namespace GraphPipe;

/// <summary>A buffer is not a valid GraphPipe message (truncated, out-of-range offsets, inconsistent tensor).</summary>
public sealed class GraphPipeFormatException : Exception
{
    public GraphPipeFormatException(string message) : base(message) { }
    public GraphPipeFormatException(string message, Exception inner) : base(message, inner) { }
}
