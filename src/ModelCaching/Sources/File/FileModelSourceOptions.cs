using ModelCaching.Reload;

namespace ModelCaching;

/// <summary>
/// How a <see cref="FileModelSource"/> notices that its file changed: file-system events on the file's
/// directory, or polling for shares and container mounts where events do not arrive.
/// </summary>
public sealed class FileModelSourceOptions
{
    private TimeSpan _pollingInterval = FileModelSourceDefaults.PollingInterval;
    private TimeSpan _debounceDelay = FileModelSourceDefaults.DebounceDelay;
    private TimeSpan _stabilityInterval = FileModelSourceDefaults.StabilityInterval;

    /// <summary>
    /// Whether the source reports changes of the file (and of its <c>.sha256</c> sidecar and symbolic links)
    /// so the cache reloads it.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool WatchForChanges { get; set; }

    /// <summary>
    /// Whether to poll the file every <see cref="PollingInterval"/> instead of listening to file-system
    /// events. Use it for network shares and container mounts where events do not arrive. The source also
    /// falls back to polling on its own when the file-system watcher cannot start.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool UsePolling { get; set; }

    /// <summary>
    /// How often the file is checked when polling.
    /// <value>The default is 5 seconds.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan PollingInterval
    {
        get => _pollingInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _pollingInterval = value;
        }
    }

    /// <summary>
    /// How long the directory must be quiet after a file-system event before the file is checked, so a
    /// burst of events (a copy, many touches) becomes one check.
    /// <value>The default is 200 milliseconds.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan DebounceDelay
    {
        get => _debounceDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _debounceDelay = value;
        }
    }

    /// <summary>
    /// How long the file's size, last-write time and link target must stay the same before a change is
    /// reported, so a file that is still being written is not read half-way.
    /// <value>The default is 500 milliseconds.</value>
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan StabilityInterval
    {
        get => _stabilityInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _stabilityInterval = value;
        }
    }

    /// <summary>
    /// Whether a <c>&lt;file&gt;.sha256</c> file next to the model (the output of <c>sha256sum</c>, or just the
    /// hex digest) is read and the model's content checked against it.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool UseSha256Sidecar { get; set; } = true;

    internal FileModelSourceOptions Clone() => new()
    {
        WatchForChanges = WatchForChanges,
        UsePolling = UsePolling,
        _pollingInterval = _pollingInterval,
        _debounceDelay = _debounceDelay,
        _stabilityInterval = _stabilityInterval,
        UseSha256Sidecar = UseSha256Sidecar,
    };
}
