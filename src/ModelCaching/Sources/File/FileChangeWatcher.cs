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
    private readonly DirectoryWatchers _watchers;
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
        _watchers = new DirectoryWatchers(path, description, logger, OnFileSystemEvent, OnWatcherError);
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
                return _watchers.ToArray();
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
                    _watchers.Follow(_reported);
                    Mode = FileWatchMode.Events;
                }
                catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
                {
                    _watchers.Clear();
                    ReloadLog.FileWatcherFailedPolling(_logger, ex, _description, directory, _options.PollingInterval);
                }
            }

            if (Mode != FileWatchMode.Events)
            {
                StartPollingLocked();
            }

            ReloadLog.FileWatcherStarted(_logger, _description, Mode, string.Join(", ", _watchers.Directories));
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
            _watchers.Dispose();
        }
    }

    private void StartPollingLocked()
    {
        Mode = FileWatchMode.Polling;
        _pollTimer ??= _timeProvider.CreateTimer(static state => ((FileChangeWatcher)state!).Check(), this, _options.PollingInterval, _options.PollingInterval);
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
            try
            {
                if (_disposed || !_watchers.TryReplace(failed))
                {
                    return;
                }

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
                    _watchers.Follow(fingerprint);
                }
                catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
                {
                    _watchers.Clear();
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
