using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using ModelCaching.Reload;

namespace ModelCaching;

/// <summary>
/// A source that reads a model file from disk, and optionally watches it so the cache reloads on change.
/// The file is read whole, so a later change to the file cannot affect a generation that is already loaded.
/// </summary>
/// <remarks>
/// Watching covers overwrites in place, write-then-rename, deletes, symbolic-link swaps (a Kubernetes
/// ConfigMap's <c>..data</c> link) and the <c>.sha256</c> sidecar; bursts of events become one change, reported
/// once the file has stopped changing. See <see cref="FileModelSourceOptions"/>.
/// </remarks>
public sealed class FileModelSource : IModelSource, IDisposable
{
    private readonly FileModelSourceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private FileChangeWatcher? _watcher;
    private bool _disposed;

    /// <summary>Creates a source for the file at <paramref name="path"/> (relative paths are resolved against the current directory), without watching.</summary>
    public FileModelSource(string path)
        : this(path, options: null)
    {
    }

    /// <summary>Creates a source for the file at <paramref name="path"/> with the given watching settings.</summary>
    /// <param name="path">The model file; relative paths are resolved against the current directory.</param>
    /// <param name="options">How changes are detected; <see langword="null"/> for no watching. The settings are copied.</param>
    /// <param name="timeProvider">The clock for debouncing, the stability wait and polling; <see cref="TimeProvider.System"/> by default.</param>
    /// <param name="loggerFactory">Where the watcher logs; none by default.</param>
    public FileModelSource(string path, FileModelSourceOptions? options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        FullPath = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(FullPath))
        {
            throw new ArgumentException($"The model path '{path}' names a directory; give the path of the model file.", nameof(path));
        }

        Description = $"file:{FullPath}";
        _options = options?.Clone() ?? new FileModelSourceOptions();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("ModelCaching.FileModelSource");
    }

    /// <summary>The absolute path of the model file.</summary>
    public string FullPath { get; }

    /// <summary>The path of the SHA-256 sidecar (<c>&lt;file&gt;.sha256</c>), read when <see cref="FileModelSourceOptions.UseSha256Sidecar"/> is on.</summary>
    public string Sha256SidecarPath => FullPath + ".sha256";

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>
    /// How changes are being detected now: <see cref="FileWatchMode.None"/> until the first
    /// <see cref="GetChangeToken"/> of a watching source, then events or polling.
    /// </summary>
    public FileWatchMode WatchMode
    {
        get
        {
            lock (_gate)
            {
                return _watcher?.Mode ?? FileWatchMode.None;
            }
        }
    }

    /// <summary>The watcher, once <see cref="GetChangeToken"/> started it (for tests).</summary>
    internal FileChangeWatcher? Watcher
    {
        get
        {
            lock (_gate)
            {
                return _watcher;
            }
        }
    }

    /// <inheritdoc />
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty or larger than <see cref="ModelFetchContext.MaxArtifactBytes"/>, or its sidecar holds no SHA-256.</exception>
    public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Synchronous reads on purpose: the cache calls this on its load thread, and .NET emulates asynchronous file
        // reads on Unix with thread-pool work items, which a burst of callers blocked on a cold model would starve.
        return ValueTask.FromResult<ModelArtifact?>(Read(context, cancellationToken));
    }

    private ModelArtifact Read(ModelFetchContext context, CancellationToken cancellationToken)
    {
        // The sidecar first: a deployer who writes the model and then its sidecar makes us read an older
        // sidecar with a newer model (a mismatch, retried on the sidecar's change), never the reverse pairing
        // with a half-written model accepted.
        string? expectedSha256 = _options.UseSha256Sidecar ? Sha256Sidecar.TryRead(Sha256SidecarPath) : null;

        // Look before opening: opening a named pipe blocks until a writer comes (a hung mount behaves the same way),
        // and a device such as /dev/zero never ends. Neither has a length; no model format is empty either.
        var file = new FileInfo(FullPath);
        if (file.LinkTarget is not null && file.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            // A symlink's own length is its target's name: look at what it points to (a ConfigMap file, or /dev/zero).
            file = target;
        }

        if (Directory.Exists(FullPath))
        {
            throw new InvalidDataException($"{Description} is a directory, not a model file.");
        }

        if (file.Exists && file.Length == 0)
        {
            throw new InvalidDataException($"{Description} is empty (0 bytes) or is not a regular file (a pipe or a device): it was truncated, its writer has not written it yet, or the path points at something that is not a model file.");
        }

        if (file.Exists && file.Length > context.MaxArtifactBytes)
        {
            throw ArtifactReader.TooLarge(Description, file.Length, context.MaxArtifactBytes);
        }

        using var stream = new FileStream(FullPath, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            // Let writers and renamers go on: we read a snapshot and the hash tells us what we got.
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.SequentialScan,
            BufferSize = 0,
        });
        byte[] content = ArtifactReader.ReadAll(stream, context.MaxArtifactBytes, Description, cancellationToken);
        if (content.Length == 0)
        {
            // No model format is empty; say so rather than let a loader fail on it with a format error.
            throw new InvalidDataException($"{Description} is empty (0 bytes): it was truncated, or its writer has not written it yet.");
        }

        // From the open handle, so a rename after the read cannot pair these bytes with another file's time.
        DateTime lastWrite = File.GetLastWriteTimeUtc(stream.SafeFileHandle);
        return new ModelArtifact(content, FullPath, lastModified: new DateTimeOffset(lastWrite, TimeSpan.Zero), expectedSha256: expectedSha256);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Returns <see langword="null"/> unless <see cref="FileModelSourceOptions.WatchForChanges"/> is on (or after
    /// <see cref="Dispose"/>). The
    /// first call starts the watcher; the tokens fire once per complete change.
    /// </remarks>
    public IChangeToken? GetChangeToken()
    {
        if (!_options.WatchForChanges)
        {
            return null;
        }

        FileChangeWatcher? watcher = _watcher;
        if (watcher is null)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    // A disposed source reports no more changes; ChangeToken.OnChange stops on a null token.
                    return null;
                }

                if (_watcher is null)
                {
                    var created = new FileChangeWatcher(FullPath, _options.UseSha256Sidecar ? Sha256SidecarPath : null, Description, _options, _timeProvider, _logger);
                    created.Start();
                    _watcher = created;
                }

                watcher = _watcher;
            }
        }

        return watcher.GetChangeToken();
    }

    /// <summary>Stops watching. Safe to call more than once.</summary>
    public void Dispose()
    {
        FileChangeWatcher? watcher;
        lock (_gate)
        {
            _disposed = true;
            watcher = _watcher;
            _watcher = null;
        }

        watcher?.Dispose();
    }
}
