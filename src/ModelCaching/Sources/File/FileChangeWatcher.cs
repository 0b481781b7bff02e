using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ModelCaching.Reload;

/// <summary>
/// Watches one model file for changes and reports each change once, when it is complete.
/// </summary>
/// <remarks>
/// <para>
/// Every file-system event in the file's directory (and in the directory its links lead to) restarts a
/// debounce timer; when the directory has been quiet for <see cref="FileModelSourceOptions.DebounceDelay"/> the
/// file's <see cref="FileFingerprint"/> is taken. A fingerprint that differs from the last reported one must
/// stay the same for <see cref="FileModelSourceOptions.StabilityInterval"/> before the change is reported, so
/// a file being written in chunks is reported once, after its last chunk. Polling runs the same check on a
/// timer instead of events.
/// </para>
/// <para>
/// Hand-written rather than Microsoft.Extensions.FileProviders.Physical's <c>PhysicalFileProvider.Watch</c>:
/// that watches the path it is given, so it misses a Kubernetes ConfigMap's <c>..data</c> link swap, has no
/// stability wait, and its polling mode is a process-wide switch (<c>DOTNET_USE_POLLING_FILE_WATCHER</c>).
/// </para>
/// </remarks>
internal sealed class FileChangeWatcher : IDisposable
{
    private readonly string _path;
    private readonly string? _sidecarPath;
    private readonly string _description;
    private readonly FileModelSourceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ChangeSignal _signal = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly ITimer _checkTimer;
    private ITimer? _pollTimer;

    // Guarded by _gate.
    private FileFingerprint _reported;
    private FileFingerprint? _candidate;
    private long _candidateSince;
    private bool _disposed;

    public FileChangeWatcher(string path, string? sidecarPath, string description, FileModelSourceOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _path = path;
        _sidecarPath = sidecarPath;
        _description = description;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _checkTimer = timeProvider.CreateTimer(static state => ((FileChangeWatcher)state!).Check(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public FileWatchMode Mode { get; private set; } = FileWatchMode.None;

    /// <summary>The file-system watchers running now (for tests of the restart path).</summary>
    internal FileSystemWatcher[] Watchers
    {
        get
        {
            lock (_gate)
            {
                return [.. _watchers.Values];
            }
        }
    }

    /// <summary>Takes the baseline fingerprint and starts listening (or polling).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _reported = TakeFingerprint();
            if (!_options.UsePolling)
            {
                string directory = Path.GetDirectoryName(_path)!;
                try
                {
                    WatchDirectoriesLocked(_reported);
                    Mode = FileWatchMode.Events;
                }
                catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
                {
                    DisposeWatchersLocked();
                    ReloadLog.FileWatcherFailedPolling(_logger, ex, _description, directory, _options.PollingInterval);
                }
            }

            if (Mode != FileWatchMode.Events)
            {
                StartPollingLocked();
            }

            ReloadLog.FileWatcherStarted(_logger, _description, Mode, string.Join(", ", _watchers.Keys));
        }
    }

    public IChangeToken GetChangeToken() => _signal.GetToken();

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _checkTimer.Dispose();
            _pollTimer?.Dispose();
            DisposeWatchersLocked();
        }
    }

    private void StartPollingLocked()
    {
        Mode = FileWatchMode.Polling;
        _pollTimer ??= _timeProvider.CreateTimer(static state => ((FileChangeWatcher)state!).Check(), this, _options.PollingInterval, _options.PollingInterval);
    }

    /// <summary>
    /// Watches the file's directory and, when links lead elsewhere, the directory of the real file, so an
    /// in-place write to a link's target is seen too. Directories no longer on the path are dropped.
    /// </summary>
    private void WatchDirectoriesLocked(FileFingerprint fingerprint)
    {
        string primary = Path.GetDirectoryName(_path)!;
        string? target = Path.GetDirectoryName(fingerprint.RealPath);
        foreach (string stale in _watchers.Keys.Where(d => d != primary && d != target).ToArray())
        {
            _watchers.Remove(stale, out FileSystemWatcher? watcher);
            watcher!.Dispose();
        }

        if (!_watchers.ContainsKey(primary))
        {
            _watchers.Add(primary, CreateWatcher(primary));
        }

        if (target is not null && target != primary && !_watchers.ContainsKey(target) && Directory.Exists(target))
        {
            try
            {
                _watchers.Add(target, CreateWatcher(target));
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // The primary directory still reports the link swaps; only in-place writes behind a link are missed.
                ReloadLog.FileWatcherError(_logger, ex, _description, target);
            }
        }
    }

    private FileSystemWatcher CreateWatcher(string directory)
    {
        // No filter: a rename onto the file, a ConfigMap's ..data link swap and a sidecar write are events on
        // other names in the directory. Every event only schedules a cheap fingerprint check.
        var watcher = new FileSystemWatcher(directory)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            InternalBufferSize = 64 * 1024,
        };
        watcher.Created += OnFileSystemEvent;
        watcher.Changed += OnFileSystemEvent;
        watcher.Deleted += OnFileSystemEvent;
        watcher.Renamed += OnFileSystemEvent;
        watcher.Error += OnWatcherError;
        try
        {
            watcher.EnableRaisingEvents = true;
        }
        catch
        {
            watcher.Dispose();
            throw;
        }

        return watcher;
    }

    private void DisposeWatchersLocked()
    {
        foreach (FileSystemWatcher watcher in _watchers.Values)
        {
            watcher.Dispose();
        }

        _watchers.Clear();
    }

    private void OnFileSystemEvent(object sender, FileSystemEventArgs e) => ScheduleCheck(_options.DebounceDelay);

    /// <summary>A watcher's <see cref="FileSystemWatcher.Error"/> (its buffer overflowed, say): replace it and look at the file.</summary>
    internal void OnWatcherError(object sender, ErrorEventArgs e)
    {
        var failed = (FileSystemWatcher)sender;
        string directory = failed.Path;
        ReloadLog.FileWatcherError(_logger, e.GetException(), _description, directory);
        lock (_gate)
        {
            if (_disposed || !_watchers.TryGetValue(directory, out FileSystemWatcher? current) || current != failed)
            {
                return;
            }

            _watchers.Remove(directory);
            failed.Dispose();
            try
            {
                _watchers.Add(directory, CreateWatcher(directory));
                ReloadLog.FileWatcherRestarted(_logger, _description, directory);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                ReloadLog.FileWatcherFailedPolling(_logger, ex, _description, directory, _options.PollingInterval);
                StartPollingLocked();
            }
        }

        // Events may have been lost while the buffer overflowed: look at the file.
        ScheduleCheck(_options.DebounceDelay);
    }

    private void ScheduleCheck(TimeSpan delay)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _checkTimer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Compares the file with what was last reported; reports a change once it has been stable long enough.</summary>
    private void Check()
    {
        FileFingerprint fingerprint;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                fingerprint = TakeFingerprint();
            }
            catch (Exception ex)
            {
                // A timer callback must not throw (it would end the process); try again shortly.
                ReloadLog.FileCheckFailed(_logger, ex, _description);
                _checkTimer.Change(_options.StabilityInterval, Timeout.InfiniteTimeSpan);
                return;
            }

            if (fingerprint == _reported)
            {
                // Back to what was reported (a touch with the same time, an unrelated file): nothing to do.
                _candidate = null;
                return;
            }

            long now = _timeProvider.GetTimestamp();
            if (_candidate != fingerprint)
            {
                _candidate = fingerprint;
                _candidateSince = now;
                if (_options.StabilityInterval > TimeSpan.Zero)
                {
                    _checkTimer.Change(_options.StabilityInterval, Timeout.InfiniteTimeSpan);
                    return;
                }
            }
            else
            {
                TimeSpan stableFor = _timeProvider.GetElapsedTime(_candidateSince, now);
                if (stableFor < _options.StabilityInterval)
                {
                    _checkTimer.Change(_options.StabilityInterval - stableFor, Timeout.InfiniteTimeSpan);
                    return;
                }
            }

            _reported = fingerprint;
            _candidate = null;
            if (Mode == FileWatchMode.Events && fingerprint.RealPath != _path)
            {
                // A link swap may have moved the real file to another directory: follow it.
                try
                {
                    WatchDirectoriesLocked(fingerprint);
                }
                catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
                {
                    DisposeWatchersLocked();
                    ReloadLog.FileWatcherFailedPolling(_logger, ex, _description, Path.GetDirectoryName(_path)!, _options.PollingInterval);
                    StartPollingLocked();
                }
            }
        }

        ReloadLog.FileChangeDetected(_logger, _description, _options.StabilityInterval.TotalMilliseconds, fingerprint.Exists, fingerprint.RealPath, fingerprint.Length);
        try
        {
            _signal.Fire();
        }
        catch (AggregateException ex)
        {
            ReloadLog.ChangeCallbackFailed(_logger, ex, _description);
        }
    }

    private FileFingerprint TakeFingerprint() => FileFingerprint.Take(_path, _sidecarPath);
}
