using ModelCaching.Loading;

namespace ModelCaching.Tests.Loading;

/// <summary><see cref="LoadHistory"/> on its own: a bounded record of attempts and counts by outcome.</summary>
public sealed class LoadHistoryTests
{
    [Fact]
    public async Task A_caches_history_is_its_serving_changes_and_keeps_its_options_length()
    {
        int built = 0;
        var options = new ModelOptions<object> { HistoryLength = 2, Factory = new DelegateModelFactory<object>(_ => ValueTask.FromResult<object>(new object[Interlocked.Increment(ref built)]), "made") };
        await using var cache = new ModelCache<object>("history", options);

        await cache.GetModelAsync();
        for (int i = 0; i < 3; i++)
        {
            await cache.ReloadAsync(force: true);
        }

        Assert.Same(cache.Changes, cache.Changes.History);
        Assert.Equal(["g3", "g4"], cache.GetHistory().Select(r => r.VersionId));
        Assert.Equal(4, cache.GetStatistics().Loads);
    }

    [Fact]
    public void Keeps_the_last_records_up_to_its_capacity_oldest_first()
    {
        var history = new LoadHistory(capacity: 3);
        for (int i = 1; i <= 5; i++)
        {
            history.Add(Record(ModelLoadOutcome.Success, $"v{i}"));
        }

        IReadOnlyList<ModelLoadRecord> records = history.Snapshot();

        Assert.Equal(["v3", "v4", "v5"], records.Select(static record => record.VersionId));
    }

    [Fact]
    public void Counts_successes_as_loads_and_failures_and_skips_as_failures_but_not_unchanged()
    {
        var history = new LoadHistory(capacity: 2);

        history.Add(Record(ModelLoadOutcome.Success));
        history.Add(Record(ModelLoadOutcome.Success));
        history.Add(Record(ModelLoadOutcome.Failure));
        history.Add(Record(ModelLoadOutcome.Skipped));
        history.Add(Record(ModelLoadOutcome.Skipped));
        history.Add(Record(ModelLoadOutcome.Unchanged));

        Assert.Equal(2, history.Loads);
        Assert.Equal(3, history.Failures);
        Assert.Equal(0, history.Unloads);
        Assert.Equal(2, history.Snapshot().Count);
    }

    [Fact]
    public void Counts_unloads_without_adding_records()
    {
        var history = new LoadHistory(capacity: 4);

        history.CountUnload();
        history.CountUnload();

        Assert.Equal(2, history.Unloads);
        Assert.Empty(history.Snapshot());
    }

    [Fact]
    public void A_snapshot_is_a_copy_that_later_records_do_not_change()
    {
        var history = new LoadHistory(capacity: 4);
        history.Add(Record(ModelLoadOutcome.Success, "v1"));

        IReadOnlyList<ModelLoadRecord> before = history.Snapshot();
        history.Add(Record(ModelLoadOutcome.Success, "v2"));

        Assert.Single(before);
        Assert.Equal(2, history.Snapshot().Count);
    }

    [Fact]
    public void Counts_stay_exact_when_records_are_added_from_every_core_at_once()
    {
        var history = new LoadHistory(capacity: 8);
        int threads = Math.Max(2, Environment.ProcessorCount);
        const int PerThread = 10_000;

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                history.Add(Record(i % 2 == 0 ? ModelLoadOutcome.Success : ModelLoadOutcome.Failure));
            }
        });

        Assert.Equal(threads * PerThread / 2, history.Loads);
        Assert.Equal(threads * PerThread / 2, history.Failures);
        Assert.Equal(8, history.Snapshot().Count);
    }

    [Fact]
    public void Loses_no_record_added_concurrently_while_below_its_capacity()
    {
        int threads = Math.Max(2, Environment.ProcessorCount);
        const int PerThread = 50;
        var history = new LoadHistory(capacity: threads * PerThread);

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                history.Add(Record(ModelLoadOutcome.Success, $"t{t}-{i}"));
            }
        });

        IReadOnlyList<ModelLoadRecord> records = history.Snapshot();
        Assert.Equal(threads * PerThread, records.Select(static record => record.VersionId).Distinct().Count());
        for (int t = 0; t < threads; t++)
        {
            // Each thread's records keep its order.
            string prefix = $"t{t}-";
            Assert.Equal(
                Enumerable.Range(0, PerThread).Select(i => prefix + i),
                records.Select(static record => record.VersionId!).Where(id => id.StartsWith(prefix, StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void A_capacity_of_one_keeps_only_the_newest_record()
    {
        var history = new LoadHistory(capacity: 1);
        history.Add(Record(ModelLoadOutcome.Success, "v1"));
        history.Add(Record(ModelLoadOutcome.Failure, "v2"));

        Assert.Equal(["v2"], history.Snapshot().Select(static record => record.VersionId));
    }

    [Fact]
    public void Empty_one_and_two_records_read_back_in_order_as_the_first_is_kept_alone_then_in_an_array()
    {
        var history = new LoadHistory(capacity: 20);
        Assert.Empty(history.Snapshot());

        history.Add(Record(ModelLoadOutcome.Success, "v1"));
        IReadOnlyList<ModelLoadRecord> one = history.Snapshot();
        history.Add(Record(ModelLoadOutcome.Failure, "v2"));

        Assert.Equal(["v1"], one.Select(static record => record.VersionId));
        Assert.Equal(["v1", "v2"], history.Snapshot().Select(static record => record.VersionId));
    }

    [Fact]
    public void Tells_its_observer_each_record_once_it_is_in_the_history()
    {
        var observer = new SnapshotObserver();
        var history = new LoadHistory(capacity: 2, observer);
        observer.History = history;

        history.Add(Record(ModelLoadOutcome.Success, "v1"));
        history.Add(Record(ModelLoadOutcome.Failure, "v2"));
        history.Add(Record(ModelLoadOutcome.Unchanged, "v2"));

        Assert.Equal([(ModelLoadOutcome.Success, "v1"), (ModelLoadOutcome.Failure, "v2"), (ModelLoadOutcome.Unchanged, "v2")], observer.Seen.Select(static r => (r.Outcome, r.VersionId)));
        Assert.True(observer.NewestWasRecorded);
    }

    // Records what it is told, and whether the history already held each record when it was told.
    private sealed class SnapshotObserver : ILoadRecordObserver
    {
        public LoadHistory? History { get; set; }

        public List<ModelLoadRecord> Seen { get; } = [];

        public bool NewestWasRecorded { get; private set; } = true;

        public void OnRecorded(ModelLoadRecord record)
        {
            Seen.Add(record);
            NewestWasRecorded &= ReferenceEquals(History!.Snapshot()[^1], record);
        }
    }

    private static ModelLoadRecord Record(ModelLoadOutcome outcome, string? versionId = null) =>
        new(DateTimeOffset.UnixEpoch, ModelLoadReason.FirstUse, outcome, versionId, outcome is ModelLoadOutcome.Failure or ModelLoadOutcome.Skipped ? "bad" : null);
}
