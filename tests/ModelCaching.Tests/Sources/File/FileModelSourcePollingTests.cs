using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Reload;

/// <summary>
/// Polling on a <see cref="FakeTimeProvider"/> over real files: events play no part, so each step of the
/// debounce/stability logic is deterministic.
/// </summary>
public sealed class FileModelSourcePollingTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Stability = TimeSpan.FromMilliseconds(500);

    private readonly TempDirectory _directory = new();
    private readonly FakeTimeProvider _time = new();
    private int _signals;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Poll_WhenFileChanges_SignalsOnceAfterItHasBeenStable()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        using FileModelSource source = CreatePolling(path);
        using IDisposable subscription = Subscribe(source);
        Assert.Equal(FileWatchMode.Polling, source.WatchMode);

        File.WriteAllText(path, "v2-longer");
        _time.Advance(Interval);
        Assert.Equal(0, _signals); // seen, not yet known to be stable

        _time.Advance(Stability);
        Assert.Equal(1, _signals);

        // Later polls of the same file report nothing.
        _time.Advance(Interval * 3);
        Assert.Equal(1, _signals);
    }

    [Fact]
    public void Poll_WhenFileIsStillGrowing_WaitsUntilItStopsChanging()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        using FileModelSource source = CreatePolling(path);
        using IDisposable subscription = Subscribe(source);

        using (var writer = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            for (int chunk = 0; chunk < 5; chunk++)
            {
                writer.Write(new byte[1000]);
                writer.Flush();
                _time.Advance(chunk == 0 ? Interval : Stability);
                Assert.Equal(0, _signals);
            }
        }

        _time.Advance(Stability);
        Assert.Equal(1, _signals);
    }

    [Fact]
    public void Poll_WhenNothingChanges_NeverSignals()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        using FileModelSource source = CreatePolling(path);
        using IDisposable subscription = Subscribe(source);

        _time.Advance(Interval * 10);

        Assert.Equal(0, _signals);
    }

    [Fact]
    public void Poll_WhenFileIsDeleted_SignalsSoTheCacheCanReportIt()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        using FileModelSource source = CreatePolling(path);
        using IDisposable subscription = Subscribe(source);

        File.Delete(path);
        _time.Advance(Interval);
        _time.Advance(Stability);

        Assert.Equal(1, _signals);
    }

    [Fact]
    public void Watch_WhenDirectoryDoesNotExistYet_FallsBackToPollingAndSeesTheFileAppear()
    {
        string missingDirectory = Path.Combine(_directory.Path, "not-mounted-yet");
        string path = Path.Combine(missingDirectory, "model.bin");
        var options = new FileModelSourceOptions { WatchForChanges = true, PollingInterval = Interval, StabilityInterval = Stability };
        using var source = new FileModelSource(path, options, _time);
        using IDisposable subscription = Subscribe(source);

        Assert.Equal(FileWatchMode.Polling, source.WatchMode);

        Directory.CreateDirectory(missingDirectory);
        File.WriteAllText(path, "v1");
        _time.Advance(Interval);
        _time.Advance(Stability);

        Assert.Equal(1, _signals);
    }

    [Fact]
    public async Task Cache_WithPollingSourceAndEventsDisabled_ReloadsWhenThePollSeesAChange()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllTextAsync(path, "v1");
        using FileModelSource source = CreatePolling(path);
        var loader = new FakeLoader();
        await using var cache = new ModelCache<FakeModel>("polled", new ModelOptions<FakeModel> { Source = source, Loader = loader, DrainDelay = TimeSpan.Zero }, _time);
        Assert.Equal("v1", (await cache.GetModelAsync()).Content);

        var reloaded = new TaskCompletionSource<ModelReloadedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.Reloaded += (_, args) => reloaded.TrySetResult(args);
        await File.WriteAllTextAsync(path, "v2");
        _time.Advance(Interval);
        _time.Advance(Stability);

        ModelReloadedEventArgs args = await reloaded.Task.WaitAsync(LogSignals.Timeout);
        Assert.Equal(ModelLoadReason.SourceChanged, args.Reason);
        Assert.Equal("v2", cache.GetModel().Content);
        Assert.Equal(FileWatchMode.Polling, source.WatchMode);
    }

    [Fact]
    public void GetChangeToken_WhenWatchingIsOff_ReturnsNullAndStartsNothing()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        using var source = new FileModelSource(path);

        Assert.Null(source.GetChangeToken());
        Assert.Equal(FileWatchMode.None, source.WatchMode);
    }

    [Fact]
    public void GetChangeToken_AfterDispose_ReturnsNullAndStopsPolling()
    {
        string path = _directory.File("model.bin");
        File.WriteAllText(path, "v1");
        FileModelSource source = CreatePolling(path);
        using IDisposable subscription = Subscribe(source);

        source.Dispose();
        File.WriteAllText(path, "v2-longer");
        _time.Advance(Interval + Stability);
        _time.Advance(Stability);

        Assert.Null(source.GetChangeToken());
        Assert.Equal(0, _signals);
    }

    private FileModelSource CreatePolling(string path) => new(
        path,
        new FileModelSourceOptions { WatchForChanges = true, UsePolling = true, PollingInterval = Interval, StabilityInterval = Stability },
        _time);

    private IDisposable Subscribe(FileModelSource source) =>
        ChangeToken.OnChange(source.GetChangeToken, () => Interlocked.Increment(ref _signals));
}
