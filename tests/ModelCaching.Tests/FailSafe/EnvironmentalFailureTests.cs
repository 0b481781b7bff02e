using System.Security.Cryptography;
using System.Text;
using ModelCaching.Diagnostics;
using ModelCaching.Tests.Reload;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.FailSafe;

/// <summary>
/// Only content can be bad content: a failure is remembered against a content hash (and the content skipped until it
/// changes) only when the content caused it — a format error, a validator's rejection, an integrity mismatch. Out of
/// memory, I/O, access, timeouts and cancellations are retried, and content that has served is never remembered as
/// bad by a failed load.
/// </summary>
public sealed class EnvironmentalFailureTests
{
    private static readonly TimeSpan LongRetry = TimeSpan.FromMinutes(5);

    private readonly LogSignals _logs = new();
    private readonly CacheFactory _factory = new();

    public static TheoryData<string> EnvironmentalFailures => ["out-of-memory", "io", "access", "timeout", "cancelled", "http"];

    public static TheoryData<string> ContentFailures => ["invalid-data", "format"];

    [Theory]
    [MemberData(nameof(EnvironmentalFailures))]
    public async Task Load_AfterAnUnload_WhenTheLoaderFailsOnceForAnEnvironmentalReason_LoadsTheSameContentAgainAfterTheCooldown(string kind)
    {
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => o.RetryBaseDelay = LongRetry), _factory.Time, _logs);
        await cache.GetModelAsync();
        cache.Invalidate();
        Exception failure = Environmental(kind);
        FailNextLoad(failure);

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        Assert.Same(failure, error.InnerException);
        Assert.Equal(ModelCacheState.Failed, cache.State);

        _factory.Time.Advance(new ModelOptions().FailureCooldown);
        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("v1", model.Content);
        Assert.Equal(3, _factory.Loader.Loads);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.DoesNotContain(cache.GetHistory(), record => record.Outcome == ModelLoadOutcome.Skipped);
    }

    [Fact]
    public async Task Load_AfterAnUnload_WhenItTimesOutOnce_LoadsTheSameContentAgainAfterTheCooldown()
    {
        TimeSpan timeout = TimeSpan.FromSeconds(30);
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => { o.RetryBaseDelay = LongRetry; o.LoadTimeout = timeout; }), _factory.Time, _logs);
        await cache.GetModelAsync();
        cache.Invalidate();
        var hanging = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int calls = 0;
        _factory.Loader.BeforeLoad = async cancellationToken =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                hanging.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        };

        Task<FakeModel> first = cache.GetModelAsync().AsTask();
        await hanging.Task.WaitAsync(LogSignals.Timeout);
        _factory.Time.Advance(timeout);
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => first.WaitAsync(LogSignals.Timeout));
        Assert.Contains("timed out", error.Message, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => !cache.GetStatistics().AbandonedLoadRunning, "the timed-out attempt's thread to end");

        _factory.Time.Advance(new ModelOptions().FailureCooldown);
        FakeModel model = await cache.GetModelAsync().AsTask().WaitAsync(LogSignals.Timeout);

        Assert.Equal("v1", model.Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.DoesNotContain(cache.GetHistory(), record => record.Outcome == ModelLoadOutcome.Skipped);
    }

    [Fact]
    public async Task Reload_OfContentThatServedBefore_WhenTheLoaderRunsOutOfMemory_IsRetriedNotSkipped()
    {
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => o.RetryBaseDelay = TimeSpan.FromSeconds(2)), _factory.Time, _logs);
        await cache.GetModelAsync();
        _factory.Source.Content = "v2";
        await cache.ReloadAsync();

        _factory.Source.Content = "v1"; // back to the content that served first
        FailNextLoad(new OutOfMemoryException("the model does not fit right now"));
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        Assert.Equal(ModelCacheState.Degraded, cache.State);

        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        _factory.Time.Advance(TimeSpan.FromSeconds(3)); // the retry (2 s ± 20%)
        Assert.Equal(ModelLoadReason.Retry, (await reloaded.WaitAsync(LogSignals.Timeout)).Reason);

        Assert.Equal("v1", cache.GetModel().Content);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.DoesNotContain(cache.GetHistory(), record => record.Outcome == ModelLoadOutcome.Skipped);
    }

    [Theory]
    [MemberData(nameof(EnvironmentalFailures))]
    public async Task NewContent_ThatFailsForAnEnvironmentalReason_IsLoadedOnTheNextChange_NotSkipped(string kind)
    {
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => o.RetryBaseDelay = LongRetry), _factory.Time, _logs);
        await cache.GetModelAsync();
        FailNextLoad(Environmental(kind));
        _factory.Source.Content = "v2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        _factory.Source.Change("v2"); // the same bytes, announced again

        Assert.Equal(ModelLoadReason.SourceChanged, (await reloaded.WaitAsync(LogSignals.Timeout)).Reason);
        Assert.Equal("v2", cache.GetModel().Content);
        Assert.Equal(0, _logs.Count(Log.EventIds.KnownBadContentSkipped));
    }

    [Fact]
    public async Task ContentThatHasServed_IsNotRememberedAsBad_WhenAValidatorFailsOnItLater()
    {
        int validations = 0;
        await using var cache = new ModelCache<FakeModel>(
            "tenant",
            _factory.Options(o =>
            {
                o.RetryBaseDelay = LongRetry;
                o.Validators.Add((_, _) => Interlocked.Increment(ref validations) == 2
                    ? ValueTask.FromException(new InvalidOperationException("the feature store did not answer"))
                    : ValueTask.CompletedTask);
            }),
            _factory.Time,
            _logs);
        await cache.GetModelAsync();
        cache.Invalidate();
        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());

        _factory.Time.Advance(new ModelOptions().FailureCooldown);
        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("v1", model.Content);
        Assert.Equal(3, validations);
        Assert.DoesNotContain(cache.GetHistory(), record => record.Outcome == ModelLoadOutcome.Skipped);
    }

    [Fact]
    public async Task ALoaderFailureOfNoKnownKind_IsRetried_NotRememberedAsBadContent()
    {
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => o.RetryBaseDelay = LongRetry), _factory.Time, _logs);
        await cache.GetModelAsync();
        FailNextLoad(new InvalidOperationException("the native library is still initialising"));
        _factory.Source.Content = "v2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
        _factory.Source.Change("v2");

        await reloaded.WaitAsync(LogSignals.Timeout);
        Assert.Equal("v2", cache.GetModel().Content);
    }

    [Theory]
    [MemberData(nameof(ContentFailures))]
    public async Task ContentTheLoaderCallsInvalid_IsRememberedAndSkippedUntilItChanges(string kind)
    {
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => o.RetryBaseDelay = LongRetry), _factory.Time, _logs);
        await cache.GetModelAsync();
        _factory.Loader.BeforeLoad = _ => Task.FromException(kind == "format" ? new FormatException("header version 9 is unknown") : new InvalidDataException("truncated zip"));
        _factory.Source.Content = "v2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        int loads = _factory.Loader.Loads;

        _factory.Source.Change("v2");
        await _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped).WaitAsync(LogSignals.Timeout);
        await SkipRecordedAsync(cache);

        Assert.Equal(loads, _factory.Loader.Loads);
        Assert.Equal("v1", cache.GetModel().Content);
        Assert.Contains("has not changed since it was rejected", cache.GetHistory()[^1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContentAValidatorRejects_IsRememberedAndSkippedUntilItChanges()
    {
        int validations = 0;
        await using var cache = new ModelCache<FakeModel>(
            "tenant",
            _factory.Options(o =>
            {
                o.RetryBaseDelay = LongRetry;
                o.Validators.Add((model, _) =>
                {
                    Interlocked.Increment(ref validations);
                    return model.Content == "v2" ? ValueTask.FromException(new InvalidOperationException("accuracy 0.41 is below 0.9")) : ValueTask.CompletedTask;
                });
            }),
            _factory.Time,
            _logs);
        await cache.GetModelAsync();
        _factory.Source.Content = "v2";
        await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());

        _factory.Source.Change("v2");
        await _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped).WaitAsync(LogSignals.Timeout);

        Assert.Equal(2, validations);
        Assert.Contains("accuracy 0.41 is below 0.9", cache.GetHistory()[^1].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContentWhoseHashDoesNotMatch_IsRememberedAndSkippedUntilItChanges()
    {
        string expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("v1")));
        await using var cache = new ModelCache<FakeModel>("tenant", _factory.Options(o => { o.RetryBaseDelay = LongRetry; o.ExpectedSha256 = expected; }), _factory.Time, _logs);
        await cache.GetModelAsync();
        _factory.Source.Content = "v2";
        var error = await Assert.ThrowsAsync<ModelLoadException>(() => cache.ReloadAsync());
        Assert.Contains("SHA-256 mismatch", error.Message, StringComparison.Ordinal);

        _factory.Source.Change("v2");
        await _logs.WaitForAsync(Log.EventIds.KnownBadContentSkipped).WaitAsync(LogSignals.Timeout);
        await SkipRecordedAsync(cache);

        Assert.Equal(1, _factory.Loader.Loads);
        Assert.Contains("has not changed since it was rejected: InvalidDataException: SHA-256 mismatch", cache.GetHistory()[^1].Error, StringComparison.Ordinal);
    }

    // The skip is logged when the content is fetched and recorded in the history when the attempt finishes, just after.
    private static Task SkipRecordedAsync(ModelCache<FakeModel> cache) =>
        Eventually.TrueAsync(() => cache.GetHistory()[^1].Outcome == ModelLoadOutcome.Skipped, "the skipped load is in the history");

    private static Exception Environmental(string kind) => kind switch
    {
        "out-of-memory" => new OutOfMemoryException("the model does not fit right now"),
        "io" => new IOException("read error on the volume"),
        "access" => new UnauthorizedAccessException("the credentials expired"),
        "timeout" => new TimeoutException("the feature store did not answer in 5 s"),
        "cancelled" => new TaskCanceledException("the download was cancelled by its own timeout"),
        _ => new HttpRequestException("connection reset by peer"),
    };

    private void FailNextLoad(Exception failure)
    {
        int calls = 0;
        _factory.Loader.BeforeLoad = _ => Interlocked.Increment(ref calls) == 1 ? Task.FromException(failure) : Task.CompletedTask;
    }
}
