using System.Text;
using ModelCaching.Diagnostics;
using ModelCaching.Reload;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Reload;

/// <summary>Real files in temp folders, a real file-system watcher, bounded waits on the cache's signals.</summary>
public sealed class FileModelSourceWatchingTests
{
    private static readonly string IrisZip = Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip");

    private static byte[] Text(string content) => Encoding.UTF8.GetBytes(content);

    [Fact]
    public async Task Watch_WhenFileIsOverwrittenInPlace_ReloadsTheNewContent()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        Assert.Equal("v1", (await watched.Cache.GetModelAsync()).Content);
        Assert.Equal(FileWatchMode.Events, watched.Source.WatchMode);

        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        await File.WriteAllTextAsync(watched.Path, "v2");

        ModelReloadedEventArgs args = await reloaded;
        Assert.Equal(ModelLoadReason.SourceChanged, args.Reason);
        Assert.Equal("v2", watched.Cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, watched.Cache.State);
    }

    [Fact]
    public async Task Watch_WhenNewFileIsWrittenAsideThenRenamedOverTheModel_ReloadsTheNewContent()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        await watched.Cache.GetModelAsync();

        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        string temp = watched.Directory.File("model.bin.tmp");
        await File.WriteAllTextAsync(temp, "v2");
        File.Move(temp, watched.Path, overwrite: true);

        await reloaded;
        Assert.Equal("v2", watched.Cache.GetModel().Content);
    }

    [Fact]
    public async Task Watch_WhenConfigMapDataLinkIsSwapped_ReloadsTheNewVersion()
    {
        // The layout kubelet gives a mounted ConfigMap: model.bin → ..data/model.bin, ..data → ..<timestamp>/.
        using var directory = new TempDirectory();
        string version1 = directory.File("..2026_11_25_12_00_00.000000001");
        Directory.CreateDirectory(version1);
        await File.WriteAllTextAsync(Path.Combine(version1, "model.bin"), "v1");
        Directory.CreateSymbolicLink(directory.File("..data"), "..2026_11_25_12_00_00.000000001");
        File.CreateSymbolicLink(directory.File("model.bin"), "..data/model.bin");

        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), initialContent: null, directory: directory);
        Assert.Equal("v1", (await watched.Cache.GetModelAsync()).Content);

        // kubelet's atomic update: write the new version's directory, point ..data_tmp at it, rename it over
        // ..data, then delete the old directory.
        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        string version2 = directory.File("..2026_11_25_12_05_00.000000002");
        Directory.CreateDirectory(version2);
        await File.WriteAllTextAsync(Path.Combine(version2, "model.bin"), "v2");
        Directory.CreateSymbolicLink(directory.File("..data_tmp"), "..2026_11_25_12_05_00.000000002");
        PosixFile.Rename(directory.File("..data_tmp"), directory.File("..data"));
        Directory.Delete(version1, recursive: true);

        await reloaded;
        Assert.Equal("v2", watched.Cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, watched.Cache.State);
    }

    [Fact]
    public async Task Watch_WhenLinkTargetInAnotherDirectoryIsOverwritten_ReloadsTheNewContent()
    {
        using var elsewhere = new TempDirectory();
        string target = elsewhere.File("real-model.bin");
        await File.WriteAllTextAsync(target, "v1");
        using var directory = new TempDirectory();
        File.CreateSymbolicLink(directory.File("model.bin"), target);

        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), initialContent: null, directory: directory);
        Assert.Equal("v1", (await watched.Cache.GetModelAsync()).Content);

        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        await File.WriteAllTextAsync(target, "v2");

        await reloaded;
        Assert.Equal("v2", watched.Cache.GetModel().Content);
    }

    [Fact]
    public async Task Watch_WhenFileIsWrittenSlowlyInChunks_LoadsOnlyTheCompleteFile()
    {
        byte[] iris = await File.ReadAllBytesAsync(IrisZip);
        var loader = new ZipModelLoader();
        await using var watched = WatchedFile<ZipModel>.Create(loader, [.. iris], options => options.StabilityInterval = TimeSpan.FromMilliseconds(1500));
        ZipModel first = await watched.Cache.GetModelAsync();
        string firstVersion = watched.Cache.Version!.Id;

        // Another valid zip with other bytes: iris.zip with one more entry.
        byte[] bigger = IrisWithExtraEntry(iris);
        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        await using (var stream = new FileStream(watched.Path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            const int Chunks = 8;
            int chunkSize = (bigger.Length / Chunks) + 1;
            for (int offset = 0; offset < bigger.Length; offset += chunkSize)
            {
                await stream.WriteAsync(bigger.AsMemory(offset, Math.Min(chunkSize, bigger.Length - offset)));
                await stream.FlushAsync();

                // The writer's pace (a slow copy): not a wait for anything, and 25× shorter than the stability
                // interval, so even a stalled CI machine does not make the file look complete between chunks.
                await Task.Delay(60);
            }
        }

        ModelReloadedEventArgs args = await reloaded;
        Assert.NotEqual(firstVersion, args.Current.Id);
        Assert.Contains("extra.txt", watched.Cache.GetModel().Entries);
        Assert.True(first.IsDisposed);
        Assert.Equal(2, loader.Loads);
        Assert.DoesNotContain(watched.Cache.GetHistory(), record => record.Outcome == ModelLoadOutcome.Failure);
    }

    [Fact]
    public async Task Watch_WhenFileIsDeleted_KeepsServingTheLastGoodModelAndReportsDegraded()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        FakeModel serving = await watched.Cache.GetModelAsync();

        Task failed = watched.Logs.WaitForAsync(Log.EventIds.ReloadFailedServingLastGood);
        File.Delete(watched.Path);
        await failed;

        Assert.Equal(ModelCacheState.Degraded, watched.Cache.State);
        Assert.Same(serving, watched.Cache.GetModel());
        Assert.False(serving.IsDisposed);
        Assert.Contains("not found", watched.Cache.GetStatistics().LastError, StringComparison.Ordinal);

        // Recovery: the next good file makes the cache Ready again.
        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        await File.WriteAllTextAsync(watched.Path, "v2");
        await reloaded;
        Assert.Equal("v2", watched.Cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, watched.Cache.State);
    }

    public static TheoryData<string> BadZips => ["corrupt", "empty", "tiny", "truncated", "onnx-instead-of-zip"];

    [Theory]
    [MemberData(nameof(BadZips))]
    public async Task Watch_WhenNewFileIsNotAValidZip_KeepsServingTheLastGoodModel(string kind)
    {
        byte[] iris = await File.ReadAllBytesAsync(IrisZip);
        byte[] bad = kind switch
        {
            "corrupt" => CorruptCentralDirectory(iris),
            "empty" => [],
            "tiny" => iris[..10], // shorter than a zip's end record: readers seek before the start
            "truncated" => iris[..(iris.Length / 2)],
            _ => await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "TestModels", "breast-cancer-multiclass.onnx")),
        };
        var loader = new ZipModelLoader();
        await using var watched = WatchedFile<ZipModel>.Create(loader, iris);
        ZipModel serving = await watched.Cache.GetModelAsync();
        ModelVersion version = watched.Cache.Version!;

        Task failed = watched.Logs.WaitForAsync(Log.EventIds.ReloadFailedServingLastGood);
        await File.WriteAllBytesAsync(watched.Path, bad);
        await failed;

        Assert.Equal(ModelCacheState.Degraded, watched.Cache.State);
        Assert.Same(serving, watched.Cache.GetModel());
        Assert.False(serving.IsDisposed);
        Assert.Equal(version, watched.Cache.Version);
        ModelLoadRecord last = watched.Cache.GetHistory()[^1];
        Assert.Equal(ModelLoadOutcome.Failure, last.Outcome);
        Assert.Contains("InvalidDataException", last.Error, StringComparison.Ordinal);

        // The same bad bytes are not loaded again; an explicit reload says why.
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => watched.Cache.ReloadAsync());
        Assert.Equal("watched", error.ModelName);
        Assert.Contains(watched.Path, error.Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_When50TouchesArriveInABurst_ReloadsOnce()
    {
        var loader = new FakeLoader();
        await using var watched = WatchedFile<FakeModel>.Create(loader, Text("v0"), options => options.DebounceDelay = TimeSpan.FromMilliseconds(500));
        await watched.Cache.GetModelAsync();
        int reloads = 0;
        watched.Cache.Reloaded += (_, _) => Interlocked.Increment(ref reloads);

        Task<ModelReloadedEventArgs> burstReloaded = watched.NextReload();
        for (int touch = 1; touch <= 50; touch++)
        {
            await File.WriteAllTextAsync(watched.Path, $"v{touch}");
        }

        ModelReloadedEventArgs burst = await burstReloaded;
        Assert.Equal("v50", watched.Cache.GetModel().Content);

        // A sentinel change after the burst: if the burst had caused a second reload, it would be counted
        // before the sentinel's (events are handled in order, and the burst's were debounced long before).
        Task<ModelReloadedEventArgs> sentinelReloaded = watched.NextReload();
        await File.WriteAllTextAsync(watched.Path, "sentinel");
        await sentinelReloaded;

        Assert.Equal(ModelLoadReason.SourceChanged, burst.Reason);
        Assert.Equal(2, Volatile.Read(ref reloads));
        Assert.Equal(3, loader.Loads); // the first load, the burst, the sentinel
    }

    [Fact]
    public async Task Watch_WhenFileIsRewrittenWithTheSameBytes_DoesNotReload()
    {
        var loader = new FakeLoader();
        await using var watched = WatchedFile<FakeModel>.Create(loader, Text("v1"));
        FakeModel serving = await watched.Cache.GetModelAsync();

        Task unchanged = watched.Logs.WaitForAsync(Log.EventIds.Unchanged);
        await File.WriteAllTextAsync(watched.Path, "v1");
        await unchanged;

        Assert.Equal(1, loader.Loads);
        Assert.Same(serving, watched.Cache.GetModel());
        Assert.Equal(1, watched.Cache.Version!.Generation);
    }

    [Fact]
    public async Task Watch_WhenSidecarDoesNotMatch_RejectsTheFileAndKeepsServing()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        FakeModel serving = await watched.Cache.GetModelAsync();

        Task failed = watched.Logs.WaitForAsync(Log.EventIds.ReloadFailedServingLastGood);
        await File.WriteAllTextAsync(watched.Path + ".sha256", new string('0', 64) + "  model.bin\n");
        await File.WriteAllTextAsync(watched.Path, "v2");
        await failed;

        Assert.Same(serving, watched.Cache.GetModel());
        Assert.Equal(ModelCacheState.Degraded, watched.Cache.State);
        Assert.Contains("SHA-256 mismatch", watched.Cache.GetHistory()[^1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_WhenSidecarMatchesTheNewFile_LoadsIt()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        await watched.Cache.GetModelAsync();

        // The sidecar first, then the model renamed in: the order that never pairs a new model with an old sidecar.
        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Text("v2")));
        string temp = watched.Directory.File("incoming.tmp");
        await File.WriteAllTextAsync(temp, "v2");
        await File.WriteAllTextAsync(watched.Path + ".sha256", hash + "  model.bin\n");
        File.Move(temp, watched.Path, overwrite: true);

        ModelReloadedEventArgs args = await reloaded;
        Assert.Equal(hash, args.Current.Id);
        Assert.Equal("v2", watched.Cache.GetModel().Content);
    }

    [Fact]
    public async Task Watch_WhenTheWatcherReportsAnError_RestartsIt_AndStillSeesTheNextChange()
    {
        await using var watched = WatchedFile<FakeModel>.Create(new FakeLoader(), Text("v1"));
        await watched.Cache.GetModelAsync();
        FileChangeWatcher watcher = watched.Source.Watcher!;
        FileSystemWatcher failed = Assert.Single(watcher.Watchers);

        // What the watcher raises when its event buffer overflows (events were lost).
        Task restarted = watched.Logs.WaitForAsync(ReloadLog.EventIds.FileWatcherRestarted);
        watcher.OnWatcherError(failed, new ErrorEventArgs(new InternalBufferOverflowException("too many changes at once")));
        await restarted;

        FileSystemWatcher replacement = Assert.Single(watcher.Watchers);
        Assert.NotSame(failed, replacement);
        Assert.Equal(failed.Path, replacement.Path);
        Assert.True(replacement.EnableRaisingEvents);
        Assert.Equal(FileWatchMode.Events, watched.Source.WatchMode);

        Task<ModelReloadedEventArgs> reloaded = watched.NextReload();
        await File.WriteAllTextAsync(watched.Path, "v2");
        await reloaded;
        Assert.Equal("v2", watched.Cache.GetModel().Content);
    }

    private static byte[] IrisWithExtraEntry(byte[] iris)
    {
        using var buffer = new MemoryStream();
        buffer.Write(iris);
        using (var archive = new System.IO.Compression.ZipArchive(buffer, System.IO.Compression.ZipArchiveMode.Update, leaveOpen: true))
        {
            using var writer = new StreamWriter(archive.CreateEntry("extra.txt").Open());
            writer.Write(new string('x', 20_000));
        }

        return buffer.ToArray();
    }

    private static byte[] CorruptCentralDirectory(byte[] zip)
    {
        byte[] corrupt = [.. zip];

        // Overwrite the end of the file (the end-of-central-directory record) with noise.
        for (int i = corrupt.Length - 64; i < corrupt.Length; i++)
        {
            corrupt[i] = (byte)(i * 31);
        }

        return corrupt;
    }
}
