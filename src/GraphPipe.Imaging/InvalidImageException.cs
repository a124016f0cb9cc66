namespace GraphPipe.Imaging;

/// <summary>An encoded image that cannot be preprocessed: unsupported format, corrupt, or over the pixel limit. The message is the reason, fit for a client.</summary>
public sealed class InvalidImageException : Exception
{
    public InvalidImageException()
    {
    }

    public InvalidImageException(string message)
        : base(message)
    {
    }

    public InvalidImageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
