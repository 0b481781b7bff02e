using Microsoft.Extensions.Logging;

namespace ModelCaching.Reload;

/// <summary>
/// The <see cref="FileSystemWatcher"/>s of one watched file: one on the file's directory and, when links lead
/// elsewhere, one on the directory of the real file, so an in-place write to a link's target is seen too. Every
/// event goes to the handlers given at construction (its owner's debounce). Not thread-safe: its owner calls it
/// under its own lock.
/// </summary>
internal sealed class DirectoryWatchers(string path, string description, ILogger logger, FileSystemEventHandler onEvent, ErrorEventHandler onError) : IDisposable
{
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);

    /// <summary>The directories watched now.</summary>
    public IEnumerable<string> Directories => _watchers.Keys;

    /// <summary>The watchers running now (for tests of the restart path).</summary>
    public FileSystemWatcher[] ToArray() => [.. _watchers.Values];

    /// <summary>
    /// Watches the file's directory and the directory of <paramref name="fingerprint"/>'s real file. Directories no
    /// longer on the path are dropped. Throws when the file's own directory cannot be watched.
    /// </summary>
    public void Follow(FileFingerprint fingerprint)
    {
        string primary = Path.GetDirectoryName(path)!;
        string? target = Path.GetDirectoryName(fingerprint.RealPath);
        foreach (string stale in _watchers.Keys.Where(d => d != primary && d != target).ToArray())
        {
            _watchers.Remove(stale, out FileSystemWatcher? watcher);
            watcher!.Dispose();
        }

        if (!_watchers.ContainsKey(primary))
        {
            _watchers.Add(primary, Create(primary));
        }

        if (target is not null && target != primary && !_watchers.ContainsKey(target) && Directory.Exists(target))
        {
            try
            {
                _watchers.Add(target, Create(target));
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // The primary directory still reports the link swaps; only in-place writes behind a link are missed.
                ReloadLog.FileWatcherError(logger, ex, description, target);
            }
        }
    }

    /// <summary>
    /// Replaces <paramref name="failed"/> (after its <see cref="FileSystemWatcher.Error"/>) with a new watcher on its
    /// directory. False when it is no longer one of these watchers; throws when the new one cannot start.
    /// </summary>
    public bool TryReplace(FileSystemWatcher failed)
    {
        string directory = failed.Path;
        if (!_watchers.TryGetValue(directory, out FileSystemWatcher? current) || current != failed)
        {
            return false;
        }

        _watchers.Remove(directory);
        failed.Dispose();
        _watchers.Add(directory, Create(directory));
        return true;
    }

    /// <summary>Stops and drops every watcher (the owner falls back to polling, or is disposed).</summary>
    public void Clear()
    {
        foreach (FileSystemWatcher watcher in _watchers.Values)
        {
            watcher.Dispose();
        }

        _watchers.Clear();
    }

    public void Dispose() => Clear();

    private FileSystemWatcher Create(string directory)
    {
        // No filter: a rename onto the file, a ConfigMap's ..data link swap and a sidecar write are events on
        // other names in the directory. Every event only schedules a cheap fingerprint check.
        var watcher = new FileSystemWatcher(directory)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            InternalBufferSize = 64 * 1024,
        };
        watcher.Created += onEvent;
        watcher.Changed += onEvent;
        watcher.Deleted += onEvent;
        watcher.Renamed += new RenamedEventHandler(onEvent);
        watcher.Error += onError;
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
}
