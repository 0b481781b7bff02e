using System.Net.Sockets;

namespace ModelCaching.FailSafe;

/// <summary>The step of a load that checks the content, for telling whether a failure there was the content's fault.</summary>
internal enum ContentCheck
{
    /// <summary>The size limit and the expected SHA-256.</summary>
    Integrity,

    /// <summary>The <see cref="IModelLoader{TModel}"/> turning the bytes into a model.</summary>
    Loader,

    /// <summary>Validators and warm-ups on the loaded model.</summary>
    Validation,
}

/// <summary>
/// Tells a failure the content caused (remembered against its hash, so the same bytes are not loaded again until they
/// change) from one the environment caused (retried with backoff). Only content can be bad content.
/// </summary>
/// <remarks>
/// <para>
/// The exception decides when it is of a known kind, outermost first (a loader that wraps a cause in
/// <see cref="InvalidDataException"/> has said the content is bad): <see cref="InvalidDataException"/>,
/// <see cref="FormatException"/>, <see cref="EndOfStreamException"/> and <see cref="BadImageFormatException"/> are the
/// content's; out of memory, I/O, access, timeouts, cancellations, network errors and the memory budget are the
/// environment's.
/// </para>
/// <para>
/// An exception of no known kind is the content's when an integrity check, a validator or a warm-up threw it (they
/// judge the content), and the environment's when the loader did: a loader says "bad content" with
/// <see cref="InvalidDataException"/> or <see cref="FormatException"/>. Taking the unknown as environmental costs a
/// retry with backoff; taking it as content would skip content that may be good until it changes, which is the worse
/// mistake.
/// </para>
/// </remarks>
internal static class ContentFault
{
    /// <summary>Whether <paramref name="failure"/>, thrown at <paramref name="step"/>, was caused by the content.</summary>
    public static bool IsContentFault(Exception failure, ContentCheck step) => Classify(failure) ?? step != ContentCheck.Loader;

    // true: the content's; false: the environment's; null: no known kind anywhere in the chain.
    private static bool? Classify(Exception failure)
    {
        for (Exception? current = failure; current is not null; current = current.InnerException)
        {
            if (current is AggregateException aggregate)
            {
                return ClassifyAll(aggregate.Flatten().InnerExceptions);
            }

            if (current is InvalidDataException or FormatException or EndOfStreamException or BadImageFormatException)
            {
                return true;
            }

            if (IsEnvironmental(current))
            {
                return false;
            }
        }

        return null;
    }

    // Several causes: the environment's if any is, the content's only if one is and none is unknown.
    private static bool? ClassifyAll(IReadOnlyCollection<Exception> failures)
    {
        bool? verdict = failures.Count == 0 ? null : true;
        foreach (Exception inner in failures)
        {
            switch (Classify(inner))
            {
                case false:
                    return false;
                case null:
                    verdict = null;
                    break;
            }
        }

        return verdict;
    }

    private static bool IsEnvironmental(Exception failure) => failure
        is OutOfMemoryException
        or InsufficientExecutionStackException
        or IOException
        or UnauthorizedAccessException
        or TimeoutException
        or OperationCanceledException
        or HttpRequestException
        or SocketException
        or ThreadInterruptedException
        or ModelBudgetException;
}
