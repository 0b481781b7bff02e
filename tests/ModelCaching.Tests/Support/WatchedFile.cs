using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Tests.Reload;

/// <summary>
/// A model file in a temp folder, a watching <see cref="FileModelSource"/> on the real clock, and a cache over
/// it (on a fake clock, so background retries never run unless a test moves time).
/// </summary>
public sealed class WatchedFile<TModel> : IAsyncDisposable
    where TModel : class
{
    private WatchedFile(TempDirectory directory, string path, LogSignals logs, FileModelSource source, ModelCache<TModel> cache)
    {
        Directory = directory;
        Path = path;
        Logs = logs;
        Source = source;
        Cache = cache;
    }

    public TempDirectory Directory { get; }

    public string Path { get; }

    public LogSignals Logs { get; }

    public FileModelSource Source { get; }

    public ModelCache<TModel> Cache { get; }

    /// <summary>Real watching with short intervals so tests end quickly; waits stay bounded by <see cref="LogSignals.Timeout"/>.</summary>
    public static FileModelSourceOptions FastWatching(Action<FileModelSourceOptions>? configure = null)
    {
        var options = new FileModelSourceOptions
        {
            WatchForChanges = true,
            DebounceDelay = TimeSpan.FromMilliseconds(100),
            StabilityInterval = TimeSpan.FromMilliseconds(300),
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Creates the file with <paramref name="initialContent"/> (at <paramref name="relativePath"/>, or model.bin) and the cache.</summary>
    public static WatchedFile<TModel> Create(IModelLoader<TModel> loader, byte[]? initialContent, Action<FileModelSourceOptions>? configure = null, string relativePath = "model.bin", TempDirectory? directory = null)
    {
        directory ??= new TempDirectory();
        string path = directory.File(relativePath);
        if (initialContent is not null)
        {
            File.WriteAllBytes(path, initialContent);
        }

        var logs = new LogSignals();
        var source = new FileModelSource(path, FastWatching(configure), TimeProvider.System, logs);
        var options = new ModelOptions<TModel> { Source = source, Loader = loader, DrainDelay = TimeSpan.Zero };
        var cache = new ModelCache<TModel>("watched", options, new FakeTimeProvider(), logs);
        return new WatchedFile<TModel>(directory, path, logs, source, cache);
    }

    /// <summary>Completes with the cache's next <see cref="IModelCache.Reloaded"/> event, within a bounded wait.</summary>
    public Task<ModelReloadedEventArgs> NextReload()
    {
        var signal = new TaskCompletionSource<ModelReloadedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, ModelReloadedEventArgs args)
        {
            Cache.Reloaded -= Handler;
            signal.TrySetResult(args);
        }

        Cache.Reloaded += Handler;
        return signal.Task.WaitAsync(LogSignals.Timeout);
    }

    public async ValueTask DisposeAsync()
    {
        await Cache.DisposeAsync();
        Source.Dispose();
        Directory.Dispose();
    }
}

/// <summary>File-system calls the BCL does not offer in the form the tests need.</summary>
internal static class PosixFile
{
    /// <summary>
    /// rename(2): atomically replaces <paramref name="newPath"/>, even a symbolic link to a directory, which
    /// File.Move refuses. This is how kubelet publishes a new ConfigMap version (..data_tmp → ..data).
    /// </summary>
    public static void Rename(string oldPath, string newPath)
    {
        if (NativeRename(oldPath, newPath) != 0)
        {
            throw new IOException($"rename('{oldPath}', '{newPath}') failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [DllImport("libc", EntryPoint = "rename", SetLastError = true, CharSet = CharSet.Ansi)]
    private static extern int NativeRename(string oldPath, string newPath);
}
