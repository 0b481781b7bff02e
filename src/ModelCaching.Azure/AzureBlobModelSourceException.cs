namespace ModelCaching;

/// <summary>
/// A blob could not be read: it or its container does not exist, access was denied (403), the account throttled past
/// the SDK's retries, or the service could not be reached. The message names the model, the blob and the cause; the
/// SDK's exception is the <see cref="Exception.InnerException"/>.
/// </summary>
/// <remarks>
/// An <see cref="IOException"/>: the cache treats it as the environment's fault, keeps serving the last good model and
/// retries with backoff; the blob's content is never marked bad by it.
/// </remarks>
public sealed class AzureBlobModelSourceException : IOException
{
    /// <summary>Creates an exception with a message and the HTTP status and storage error code that caused it.</summary>
    /// <param name="message">What went wrong, naming the model and the blob.</param>
    /// <param name="status">The HTTP status of the storage service's answer, or 0 when there was none.</param>
    /// <param name="errorCode">The storage error code (<c>BlobNotFound</c>, <c>AuthorizationPermissionMismatch</c>, …), when there was one.</param>
    /// <param name="innerException">The SDK's exception.</param>
    public AzureBlobModelSourceException(string message, int status, string? errorCode, Exception? innerException)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>The HTTP status of the storage service's answer (404, 403, 503, …), or 0 when there was no answer.</summary>
    public int Status { get; }

    /// <summary>The storage error code, such as <c>BlobNotFound</c> or <c>ContainerNotFound</c>, when the service gave one.</summary>
    public string? ErrorCode { get; }
}
