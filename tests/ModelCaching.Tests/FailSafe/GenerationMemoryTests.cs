using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;
using ModelCaching.Loading;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Tests.FailSafe;

/// <summary>
/// What a generation keeps in memory beside its model: its raw bytes only when a feature needs them (a rollback to it,
/// <see cref="ModelRollbackRetention.Artifact"/>, or the restore after an unload-first swap), and then they are charged
/// to the memory budget.
/// </summary>
[Collection(nameof(MemoryMeasuringTests))]
public sealed class GenerationMemoryTests(ITestOutputHelper output)
{
    private const int LargeArtifact = 50 * 1024 * 1024;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(ModelRollbackRetention.None)]
    [InlineData(ModelRollbackRetention.Generation)]
    public async Task AServingGeneration_WhoseBytesNoFeatureNeeds_DoesNotKeepThem(ModelRollbackRetention retention)
    {
        var source = new FreshBytesSource(LargeArtifact);
        await using var cache = new ModelCache<FakeModel>("large", Options(source, retention), _time);
        long before = RetainedMemory();

        await cache.GetModelAsync();
        long after = RetainedMemory();
        source.Next();
        await cache.ReloadAsync();

        Assert.Equal(2, source.Delivered.Count);
        Assert.All(source.Delivered, delivered => Assert.False(IsAlive(delivered), "the artifact's bytes are still reachable"));
        output.WriteLine($"{retention}: {(after - before) / 1024.0 / 1024.0:F1} MiB retained after loading a {LargeArtifact / 1024 / 1024} MiB artifact");
    }

    [Fact]
    public async Task WithArtifactRetention_TheServingAndThePreviousBytesAreKept_AndAnUnloadLetsBothGo()
    {
        var source = new FreshBytesSource(LargeArtifact);
        await using var cache = new ModelCache<FakeModel>("large", Options(source, ModelRollbackRetention.Artifact), _time);
        long before = RetainedMemory();

        await cache.GetModelAsync();
        source.Next();
        await cache.ReloadAsync();
        long after = RetainedMemory();

        Assert.All(source.Delivered, delivered => Assert.True(IsAlive(delivered), "the bytes a rollback needs were let go"));
        output.WriteLine($"Artifact: {(after - before) / 1024.0 / 1024.0:F1} MiB retained after two versions of a {LargeArtifact / 1024 / 1024} MiB artifact");

        cache.Invalidate();
        Assert.All(source.Delivered, delivered => Assert.False(IsAlive(delivered), "an unload kept raw bytes no budget is charged for"));
    }

    [Theory]
    [InlineData(ModelRollbackRetention.None, 1_000, 1_000)]
    [InlineData(ModelRollbackRetention.Generation, 1_000, 2_000)]
    [InlineData(ModelRollbackRetention.Artifact, 2_000, 3_000)]
    public async Task TheBytesAGenerationKeeps_AreChargedToTheBudget(ModelRollbackRetention retention, long afterFirst, long afterReload)
    {
        var budget = new MemoryBudget("provider", 100_000);
        var source = new FreshBytesSource(1_000);
        await using var cache = new ModelCache<FakeModel>(
            "charged",
            Options(source, retention),
            _time,
            NullLoggerFactory.Instance,
            new ModelCacheMetrics(null),
            new ModelLoadLimiter(4),
            budget);

        await cache.GetModelAsync();
        Assert.Equal(afterFirst, budget.Snapshot().Resident);

        source.Next();
        await cache.ReloadAsync();
        Assert.Equal(afterReload, budget.Snapshot().Resident);

        cache.Invalidate();
        Assert.Equal(0, budget.Snapshot().Resident);
    }

    private static ModelOptions<FakeModel> Options(IModelSource source, ModelRollbackRetention retention) => new()
    {
        Source = source,
        Loader = new LengthLoader(),
        RollbackRetention = retention,
        DrainDelay = TimeSpan.Zero,
        MaxArtifactBytes = 2L * LargeArtifact,
    };

    private static long RetainedMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsAlive(WeakReference reference)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return reference.IsAlive;
    }

    /// <summary>A source that delivers new bytes of a fixed length (different content after <see cref="Next"/>) and remembers them only weakly.</summary>
    private sealed class FreshBytesSource(int length) : IModelSource
    {
        private byte _version = 1;

        public string Description => "memory:fresh";

        public List<WeakReference> Delivered { get; } = [];

        public void Next() => _version++;

        public ValueTask<ModelArtifact?> FetchAsync(ModelFetchContext context, CancellationToken cancellationToken)
        {
            byte[] bytes = new byte[length];
            Array.Fill(bytes, _version);
            lock (Delivered)
            {
                Delivered.Add(new WeakReference(bytes));
            }

            return ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(bytes, Description));
        }

        public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => null;
    }

    /// <summary>A loader that keeps nothing of the bytes: the model is their length and first byte.</summary>
    private sealed class LengthLoader : IModelLoader<FakeModel>
    {
        public ValueTask<FakeModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) =>
            ValueTask.FromResult(new FakeModel($"{artifact.Length}:{artifact.Content.Span[0]}"));
    }
}
