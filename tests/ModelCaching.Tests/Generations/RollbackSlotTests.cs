using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Generations;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Generations;

/// <summary><see cref="RollbackSlot{TModel}"/> on its own, for each <see cref="ModelRollbackRetention"/>.</summary>
public sealed class RollbackSlotTests
{
    private long _generations;

    [Fact]
    public void Artifact_retention_keeps_the_bytes_and_retires_the_generation_now()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Artifact);
        ModelGeneration<FakeModel> previous = Generation("v1", withArtifact: true);

        (ModelGeneration<FakeModel>? retire, ModelGeneration<FakeModel>? released) = slot.Replace(previous);

        Assert.Same(previous, retire);
        Assert.Null(released);
        Assert.True(slot.TryTake(out ModelGeneration<FakeModel>? generation, out ModelArtifact? artifact));
        Assert.Null(generation);
        Assert.Same(previous.Artifact, artifact);
    }

    [Fact]
    public void Artifact_retention_keeps_the_newest_bytes()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Artifact);
        ModelGeneration<FakeModel> first = Generation("v1", withArtifact: true);
        ModelGeneration<FakeModel> second = Generation("v2", withArtifact: true);

        slot.Replace(first);
        slot.Replace(second);

        Assert.True(slot.TryTake(out _, out ModelArtifact? artifact));
        Assert.Same(second.Artifact, artifact);
    }

    [Fact]
    public void Artifact_retention_of_a_generation_without_bytes_keeps_nothing()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Artifact);
        ModelGeneration<FakeModel> previous = Generation("v1", withArtifact: false);

        (ModelGeneration<FakeModel>? retire, ModelGeneration<FakeModel>? released) = slot.Replace(previous);

        Assert.Same(previous, retire);
        Assert.Null(released);
        Assert.False(slot.TryTake(out ModelGeneration<FakeModel>? generation, out ModelArtifact? artifact));
        Assert.Null(generation);
        Assert.Null(artifact);
    }

    [Fact]
    public void Generation_retention_keeps_the_generation_and_hands_back_the_one_kept_before()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Generation);
        ModelGeneration<FakeModel> first = Generation("v1", withArtifact: true);
        ModelGeneration<FakeModel> second = Generation("v2", withArtifact: true);

        (ModelGeneration<FakeModel>? retireFirst, ModelGeneration<FakeModel>? releasedFirst) = slot.Replace(first);
        (ModelGeneration<FakeModel>? retireSecond, ModelGeneration<FakeModel>? releasedSecond) = slot.Replace(second);

        Assert.Null(retireFirst);
        Assert.Null(releasedFirst);
        Assert.Null(retireSecond);
        Assert.Same(first, releasedSecond);
        Assert.True(slot.TryTake(out ModelGeneration<FakeModel>? generation, out ModelArtifact? artifact));
        Assert.Same(second, generation);
        Assert.Null(artifact);
    }

    [Fact]
    public void TryTake_of_a_kept_generation_leaves_nothing_kept()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Generation);
        slot.Replace(Generation("v1", withArtifact: true));

        Assert.True(slot.TryTake(out _, out _));

        Assert.False(slot.TryTake(out ModelGeneration<FakeModel>? generation, out ModelArtifact? artifact));
        Assert.Null(generation);
        Assert.Null(artifact);
        Assert.Null(slot.ReleaseGeneration());
    }

    [Fact]
    public void None_retention_keeps_nothing_and_retires_the_previous_generation_now()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.None);
        ModelGeneration<FakeModel> previous = Generation("v1", withArtifact: true);

        (ModelGeneration<FakeModel>? retire, ModelGeneration<FakeModel>? released) = slot.Replace(previous);

        Assert.Same(previous, retire);
        Assert.Null(released);
        Assert.Equal(ModelRollbackRetention.None, slot.Retention);
        Assert.False(slot.TryTake(out _, out _));
    }

    [Fact]
    public void Nothing_is_kept_before_the_first_swap()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Generation);

        Assert.False(slot.TryTake(out _, out _));
        Assert.Null(slot.ReleaseGeneration());
        Assert.Null(slot.Clear());
    }

    [Fact]
    public void Clear_returns_the_kept_generation_and_forgets_everything()
    {
        var generations = new RollbackSlot<FakeModel>(ModelRollbackRetention.Generation);
        ModelGeneration<FakeModel> kept = Generation("v1", withArtifact: true);
        generations.Replace(kept);
        var artifacts = new RollbackSlot<FakeModel>(ModelRollbackRetention.Artifact);
        artifacts.Replace(Generation("v2", withArtifact: true));

        Assert.Same(kept, generations.Clear());
        Assert.Null(artifacts.Clear());

        Assert.False(generations.TryTake(out _, out _));
        Assert.False(artifacts.TryTake(out _, out _));
    }

    [Fact]
    public void ReleaseGeneration_lets_the_kept_generation_go_once()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Generation);
        ModelGeneration<FakeModel> kept = Generation("v1", withArtifact: true);
        slot.Replace(kept);

        Assert.Same(kept, slot.ReleaseGeneration());
        Assert.Null(slot.ReleaseGeneration());
        Assert.False(slot.TryTake(out _, out _));
    }

    [Fact]
    public void ReleaseGeneration_lets_the_bytes_go_too_so_an_unload_keeps_no_memory_the_budget_does_not_see()
    {
        var slot = new RollbackSlot<FakeModel>(ModelRollbackRetention.Artifact);
        ModelGeneration<FakeModel> previous = Generation("v1", withArtifact: true);
        slot.Replace(previous);
        Assert.Equal(2, slot.ArtifactBytes);

        Assert.Null(slot.ReleaseGeneration());

        Assert.Equal(0, slot.ArtifactBytes);
        Assert.False(slot.TryTake(out _, out _));
    }

    private ModelGeneration<FakeModel> Generation(string content, bool withArtifact)
    {
        long number = ++_generations;
        ModelArtifact? artifact = withArtifact ? new ModelArtifact(System.Text.Encoding.UTF8.GetBytes(content), "memory:test") : null;
        var version = new ModelVersion($"g{number}", number, "memory:test", DateTimeOffset.UnixEpoch, 0);
        return new ModelGeneration<FakeModel>("m", new FakeModel(content), version, artifact, NullLogger.Instance);
    }
}
