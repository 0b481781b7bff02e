using ModelCaching.Diagnostics;
using ModelCaching.Tests.Reload;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary>
/// An explicit reload does not silently undo a rollback: the version rolled back from loads again only with force, a
/// refusal throws <see cref="ModelReloadRefusedException"/> and keeps serving, and the history says who did what.
/// </summary>
public sealed class ReloadAfterRollbackTests
{
    private readonly CacheFactory _factory = new();
    private readonly LogSignals _logs = new();

    private ModelCache<FakeModel> Create(Action<ModelOptions<FakeModel>>? configure = null) =>
        new("taxi-fare", _factory.Options(configure), _factory.Time, _logs);

    // v1 served, v2 reloaded, then rolled back to v1 by "ada"; the source still has v2.
    private async Task<(ModelVersion V1, ModelVersion V2)> RolledBackFromV2Async(ModelCache<FakeModel> cache)
    {
        await cache.GetModelAsync();
        ModelVersion v1 = cache.Version!;
        _factory.Source.Content = "v2";
        ModelVersion v2 = await cache.ReloadAsync();
        await cache.RollbackAsync(requestedBy: "ada");
        return (v1, v2);
    }

    [Fact]
    public async Task ReloadAfterRollback_OfTheVersionRolledBackFrom_IsRefusedAndKeepsServing()
    {
        await using ModelCache<FakeModel> cache = Create();
        (ModelVersion v1, ModelVersion v2) = await RolledBackFromV2Async(cache);
        int loads = _factory.Loader.Loads;

        ModelReloadRefusedException refused = await Assert.ThrowsAsync<ModelReloadRefusedException>(() => cache.ReloadAsync());

        Assert.IsAssignableFrom<InvalidOperationException>(refused);
        Assert.Equal(("taxi-fare", v2.Id, v1.Id), (refused.ModelName, refused.RolledBackVersionId, refused.ServingVersionId));
        Assert.Contains("rolled back", refused.Message, StringComparison.Ordinal);
        Assert.Contains("force", refused.Message, StringComparison.Ordinal);
        Assert.Equal("v1", cache.GetModel().Content);
        Assert.Equal(v1.Id, cache.Version!.Id);
        Assert.Equal(ModelCacheState.Ready, cache.State);
        Assert.Equal(loads, _factory.Loader.Loads);
        Assert.Equal(0, cache.GetStatistics().LoadFailures);
        Assert.Equal(1, _logs.Count(Log.EventIds.ReloadRefused));
    }

    [Fact]
    public async Task ReloadAfterRollback_WithForce_LoadsTheVersionAgain_AndTheHistorySaysWhoDidWhat()
    {
        await using ModelCache<FakeModel> cache = Create();
        (ModelVersion v1, ModelVersion v2) = await RolledBackFromV2Async(cache);
        await Assert.ThrowsAsync<ModelReloadRefusedException>(() => cache.ReloadAsync(force: false, requestedBy: "bob"));

        ModelVersion forced = await cache.ReloadAsync(force: true, requestedBy: "carol");

        Assert.Equal(v2.Id, forced.Id);
        Assert.Equal("v2", cache.GetModel().Content);
        ModelLoadRecord[] history = [.. cache.GetHistory().TakeLast(3)];
        Assert.Equal((ModelLoadReason.Rollback, ModelLoadOutcome.Success, v1.Id, "ada"), (history[0].Reason, history[0].Outcome, history[0].VersionId, history[0].RequestedBy));
        Assert.Equal($"rolled back from version {v2.Id}", history[0].Detail);
        Assert.Equal((ModelLoadReason.Explicit, ModelLoadOutcome.Refused, v2.Id, "bob"), (history[1].Reason, history[1].Outcome, history[1].VersionId, history[1].RequestedBy));
        Assert.Contains("rolled back", history[1].Error, StringComparison.Ordinal);
        Assert.Equal((ModelLoadReason.Explicit, ModelLoadOutcome.Success, v2.Id, "carol"), (history[2].Reason, history[2].Outcome, history[2].VersionId, history[2].RequestedBy));
        Assert.StartsWith("forced:", history[2].Detail, StringComparison.Ordinal);
        Assert.Equal(1, _logs.Count(Log.EventIds.ReloadForced));

        // Served again, v2 is no longer held back: a plain reload is unchanged, not refused.
        Assert.Equal(v2.Id, (await cache.ReloadAsync()).Id);
        Assert.Equal(ModelLoadOutcome.Unchanged, cache.GetHistory()[^1].Outcome);
    }

    [Fact]
    public async Task ReloadAfterRollback_OfNewContent_LoadsWithoutForce()
    {
        await using ModelCache<FakeModel> cache = Create();
        await RolledBackFromV2Async(cache);
        _factory.Source.Content = "v3";

        await cache.ReloadAsync(force: false, requestedBy: "dan");

        Assert.Equal("v3", cache.GetModel().Content);
        Assert.Equal((ModelLoadOutcome.Success, "dan", null), (cache.GetHistory()[^1].Outcome, cache.GetHistory()[^1].RequestedBy, cache.GetHistory()[^1].Detail));
    }

    [Fact]
    public async Task ReloadAfterRollback_ToAKeptGeneration_IsRefusedToo()
    {
        await using ModelCache<FakeModel> cache = Create(options => options.RollbackRetention = ModelRollbackRetention.Generation);
        (ModelVersion v1, _) = await RolledBackFromV2Async(cache);

        await Assert.ThrowsAsync<ModelReloadRefusedException>(() => cache.ReloadAsync());

        Assert.Equal(v1.Id, cache.Version!.Id);
        Assert.Equal("ada", cache.GetHistory().Last(r => r.Reason == ModelLoadReason.Rollback).RequestedBy);
    }

    [Fact]
    public async Task ConcurrentReloadsAfterRollback_AreAllRefused_AndNoneLoads()
    {
        await using ModelCache<FakeModel> cache = Create();
        (ModelVersion v1, _) = await RolledBackFromV2Async(cache);
        int loads = _factory.Loader.Loads;
        int notRefused = 0;

        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await cache.ReloadAsync(force: false, requestedBy: $"caller-{i}");
                Interlocked.Increment(ref notRefused);
            }
            catch (ModelReloadRefusedException)
            {
            }
        })));

        Assert.Equal(0, notRefused);
        Assert.Equal(loads, _factory.Loader.Loads);
        Assert.Equal(v1.Id, cache.Version!.Id);
    }
}
