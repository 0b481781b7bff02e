using System.Net.Sockets;
using ModelCaching.FailSafe;

namespace ModelCaching.Tests.FailSafe;

/// <summary>
/// <see cref="ContentFault"/> as a table: which failure, at which step, is the content's fault (remembered against its
/// hash) and which is the environment's (retried).
/// </summary>
public sealed class ContentFaultTests
{
    public static TheoryData<string, string, bool> Table => new()
    {
        // Known content failures, at any step.
        { "invalid-data", nameof(ContentCheck.Loader), true },
        { "format", nameof(ContentCheck.Loader), true },
        { "end-of-stream", nameof(ContentCheck.Loader), true },
        { "bad-image", nameof(ContentCheck.Loader), true },
        { "invalid-data", nameof(ContentCheck.Integrity), true },

        // Known environmental failures, at any step: a validator running out of memory did not judge the content.
        { "out-of-memory", nameof(ContentCheck.Loader), false },
        { "out-of-memory", nameof(ContentCheck.Validation), false },
        { "io", nameof(ContentCheck.Loader), false },
        { "file-not-found", nameof(ContentCheck.Loader), false },
        { "access", nameof(ContentCheck.Loader), false },
        { "timeout", nameof(ContentCheck.Validation), false },
        { "cancelled", nameof(ContentCheck.Loader), false },
        { "task-cancelled", nameof(ContentCheck.Validation), false },
        { "http", nameof(ContentCheck.Loader), false },
        { "socket", nameof(ContentCheck.Validation), false },

        // No known kind: a validator or warm-up judges the content, a loader does not say so.
        { "invalid-operation", nameof(ContentCheck.Validation), true },
        { "invalid-operation", nameof(ContentCheck.Integrity), true },
        { "invalid-operation", nameof(ContentCheck.Loader), false },
        { "not-supported", nameof(ContentCheck.Loader), false },

        // The outermost known kind decides: a loader that wraps a cause in InvalidDataException said "bad content".
        { "invalid-data-around-io", nameof(ContentCheck.Loader), true },
        { "io-around-invalid-data", nameof(ContentCheck.Loader), false },
        { "invalid-operation-around-format", nameof(ContentCheck.Loader), true },
        { "invalid-operation-around-out-of-memory", nameof(ContentCheck.Validation), false },

        // Several causes: the environment's if any is.
        { "aggregate-format-and-out-of-memory", nameof(ContentCheck.Loader), false },
        { "aggregate-format-and-invalid-data", nameof(ContentCheck.Loader), true },
        { "aggregate-format-and-unknown", nameof(ContentCheck.Loader), false },
        { "aggregate-format-and-unknown", nameof(ContentCheck.Validation), true },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void A_failure_is_the_contents_fault_only_when_the_content_caused_it(string failure, string step, bool contentsFault) =>
        Assert.Equal(contentsFault, ContentFault.IsContentFault(Make(failure), Enum.Parse<ContentCheck>(step)));

    private static Exception Make(string failure) => failure switch
    {
        "invalid-data" => new InvalidDataException("truncated"),
        "format" => new FormatException("header"),
        "end-of-stream" => new EndOfStreamException(),
        "bad-image" => new BadImageFormatException(),
        "out-of-memory" => new OutOfMemoryException(),
        "io" => new IOException("read error"),
        "file-not-found" => new FileNotFoundException("gone"),
        "access" => new UnauthorizedAccessException(),
        "timeout" => new TimeoutException(),
        "cancelled" => new OperationCanceledException(),
        "task-cancelled" => new TaskCanceledException(),
        "http" => new HttpRequestException("reset"),
        "socket" => new SocketException(),
        "invalid-operation" => new InvalidOperationException("unknown transformer"),
        "not-supported" => new NotSupportedException(),
        "invalid-data-around-io" => new InvalidDataException("not a loadable model", new IOException("bad zip entry")),
        "io-around-invalid-data" => new IOException("the share dropped", new InvalidDataException("partial read")),
        "invalid-operation-around-format" => new InvalidOperationException("load failed", new FormatException("header")),
        "invalid-operation-around-out-of-memory" => new InvalidOperationException("scoring failed", new OutOfMemoryException()),
        "aggregate-format-and-out-of-memory" => new AggregateException(new FormatException(), new OutOfMemoryException()),
        "aggregate-format-and-invalid-data" => new AggregateException(new FormatException(), new InvalidDataException()),
        _ => new AggregateException(new FormatException(), new InvalidOperationException()),
    };
}
