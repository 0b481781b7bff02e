namespace ModelCaching;

/// <summary>How a <see cref="FileModelSource"/> is noticing changes right now.</summary>
public enum FileWatchMode
{
    /// <summary>Not watching: <see cref="FileModelSourceOptions.WatchForChanges"/> is off, or nobody asked for changes yet.</summary>
    None,

    /// <summary>Listening to file-system events on the file's directory (and its link target's directory).</summary>
    Events,

    /// <summary>
    /// Polling every <see cref="FileModelSourceOptions.PollingInterval"/>, because polling was asked for or
    /// because the file-system watcher could not start.
    /// </summary>
    Polling,
}
