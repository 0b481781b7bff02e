using Azure;
using Azure.Identity;

namespace ModelCaching;

/// <summary>
/// Turns what the storage SDK throws into a message a user can act on: which model, which blob, what happened and what
/// to check. The SDK's exception stays the inner exception (its message holds the whole response, which is noise here).
/// </summary>
internal static class BlobFailures
{
    /// <summary>The failure for an exception from a request to the blob, or <see langword="null"/> when it is not one the SDK throws.</summary>
    /// <param name="failure">What the SDK threw.</param>
    /// <param name="modelName">The model being loaded.</param>
    /// <param name="blob">The blob, as in messages (<c>blob 'models/x.zip' in container 'models' of account 'a'</c>).</param>
    /// <param name="servingETag">The ETag of the version serving now, if any: a missing blob that served was deleted.</param>
    public static AzureBlobModelSourceException? Describe(Exception failure, string modelName, string blob, string? servingETag) => failure switch
    {
        RequestFailedException request => Describe(request, modelName, blob, servingETag),
        AuthenticationFailedException or CredentialUnavailableException => new AzureBlobModelSourceException(
            $"Model '{modelName}': no credential could sign in to read {blob} ({failure.GetType().Name}: {FirstLine(failure.Message)}). With DefaultAzureCredential, give the app a managed identity (or sign in with 'az login' on a developer machine), or use a connection string.",
            401,
            null,
            failure),
        AggregateException { InnerExceptions: [RequestFailedException, ..] } aggregate => new AzureBlobModelSourceException(
            $"Model '{modelName}': {blob} could not be read after {aggregate.InnerExceptions.Count} tries (the SDK's retry policy): {FirstLine(aggregate.InnerExceptions[^1].Message)}",
            ((RequestFailedException)aggregate.InnerExceptions[^1]).Status,
            ((RequestFailedException)aggregate.InnerExceptions[^1]).ErrorCode,
            failure),
        _ => null,
    };

    private static AzureBlobModelSourceException Describe(RequestFailedException failure, string modelName, string blob, string? servingETag)
    {
        string code = failure.ErrorCode ?? string.Empty;
        string answer = failure.Status == 0 ? "no answer" : $"{failure.Status} {(code.Length == 0 ? "without an error code" : code)}";
        string message = (failure.Status, code) switch
        {
            (404, "ContainerNotFound") => $"Model '{modelName}': the container of {blob} does not exist ({answer}).",
            (404, _) when servingETag is not null => $"Model '{modelName}': {blob} no longer exists ({answer}): it was deleted after version {servingETag} served. The last good model keeps serving until the blob is back.",
            (404, _) => $"Model '{modelName}': {blob} does not exist ({answer}).",
            (403, _) => $"Model '{modelName}': access to {blob} was denied ({answer}). A SAS may have expired or lack read (r) permission; an identity needs the 'Storage Blob Data Reader' role on the container or the account.",
            (401, _) => $"Model '{modelName}': the storage account refused the credential for {blob} ({answer}). Check the account key, the SAS or the identity.",
            (429 or 503, _) or (500, "OperationTimedOut") => $"Model '{modelName}': the storage account is throttling or busy ({answer}) and {blob} could not be read within the SDK's retries. The next attempt retries with backoff.",
            (0, _) => $"Model '{modelName}': the storage service could not be reached to read {blob}: {FirstLine(failure.Message)}",
            _ => $"Model '{modelName}': reading {blob} failed ({answer}): {FirstLine(failure.Message)}",
        };
        return new AzureBlobModelSourceException(message, failure.Status, failure.ErrorCode, failure);
    }

    /// <summary>A download that broke off partway (the connection dropped and the SDK's retries of the rest failed).</summary>
    public static AzureBlobModelSourceException BrokenOff(Exception failure, string modelName, string blob) => new(
        $"Model '{modelName}': the download of {blob} broke off ({failure.GetType().Name}: {FirstLine(failure.Message)}). The next attempt retries with backoff.",
        (failure as RequestFailedException)?.Status ?? 0,
        (failure as RequestFailedException)?.ErrorCode,
        failure);

    // The SDK's messages carry the whole response (headers, body) after the first line.
    private static string FirstLine(string message)
    {
        int end = message.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? message : message[..end];
    }
}
