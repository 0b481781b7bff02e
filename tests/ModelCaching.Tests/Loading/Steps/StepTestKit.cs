using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.Budget;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary>What the tests of single steps share: content, attempts, a serving generation, and a cache as steps see it.</summary>
internal static class StepTestKit
{
    public static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static ModelArtifact Artifact(string text) => new(Encoding.UTF8.GetBytes(text), "memory:test");

    public static LoadAttempt<FakeModel> Attempt(ModelLoadReason reason = ModelLoadReason.FirstUse, ModelArtifact? artifact = null) => new(
        reason,
        artifact,
        new TaskCompletionSource<ModelGeneration<FakeModel>>(),
        ModelLoadLimiter.Unlimited,
        TimeProvider.System,
        Timeout.InfiniteTimeSpan,
        DelegateAttemptOwner<FakeModel>.Idle);

    /// <summary>A load of a model named "m" (what the steps read of it: its settings, loader or factory, clock, host).</summary>
    public static LoadPipeline<FakeModel> Pipeline(ILoadStepHost<FakeModel>? host = null, ModelOptions<FakeModel>? settings = null, IModelLoader<FakeModel>? loader = null, IModelFactory<FakeModel>? factory = null, TimeProvider? time = null) => new(
        "m",
        "memory:test",
        factory is null ? new DelegateModelSource((_, _) => throw new InvalidOperationException("the source is read through the host"), "memory:test") : null,
        loader,
        factory,
        settings ?? new ModelOptions<FakeModel> { DrainDelay = TimeSpan.Zero },
        new FailSafePolicy(TimeProvider.System, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero),
        NullLogger.Instance,
        time ?? TimeProvider.System,
        host ?? new FakeStepHost());

    public static LoadContext<FakeModel> Context(ModelLoadReason reason = ModelLoadReason.FirstUse, ModelGeneration<FakeModel>? current = null, ModelArtifact? artifact = null, LoadPipeline<FakeModel>? pipeline = null) =>
        new(pipeline ?? Pipeline(), Attempt(reason, artifact), current);

    public static ModelGeneration<FakeModel> Current(string text)
    {
        ModelArtifact artifact = Artifact(text);
        var version = new ModelVersion(artifact.ContentHash!, 1, "memory:test", DateTimeOffset.UnixEpoch, artifact.Length);
        return new ModelGeneration<FakeModel>("m", new FakeModel(text), version, artifact, NullLogger.Instance)
        {
            ContentHash = artifact.ContentHash,
        };
    }
}

/// <summary>A cache as the steps see it (<see cref="ILoadStepHost{TModel}"/>): records each call in order, answers as set.</summary>
internal sealed class FakeStepHost : ILoadStepHost<FakeModel>
{
    // Only holds reservations for the attempt (it would cancel one if the attempt were abandoned): the steps pass them on.
    private readonly MemoryBudget _budget = new("test", 1_000);

    public List<string> Calls { get; } = [];

    public ModelGeneration<FakeModel>? Serving { get; set; }

    /// <summary>What <see cref="Fetch"/> answers; by default the content is new.</summary>
    public Func<LoadAttempt<FakeModel>, ModelGeneration<FakeModel>?, FetchOutcome> OnFetch { get; set; } = static (_, _) => FetchOutcome.New(StepTestKit.Artifact("v2"));

    /// <summary>The bytes <see cref="ReserveMemory"/> reserves; none (no budget) when <see langword="null"/>.</summary>
    public long? Reserve { get; set; }

    /// <summary>The last reservation made, if any.</summary>
    public MemoryBudget.Reservation? Reservation { get; private set; }

    /// <summary>The reservations given back, in order.</summary>
    public List<MemoryBudget.Reservation?> Cancelled { get; } = [];

    public long Size { get; set; } = 42;

    public long Retained { get; set; }

    public Exception? MeasureFails { get; set; }

    public bool Unloads { get; set; } = true;

    public FetchOutcome Fetch(LoadAttempt<FakeModel> attempt, ModelGeneration<FakeModel>? current)
    {
        Calls.Add("fetch");
        return OnFetch(attempt, current);
    }

    public void OnSourceFound() => Calls.Add("source found");

    public (ModelGeneration<FakeModel> Generation, ModelArtifact? Bytes)? UnloadFirst(ModelGeneration<FakeModel> current)
    {
        Calls.Add($"unload {current.Model.Content}");
        return Unloads ? (current, current.Artifact) : null;
    }

    public void RestoreAfterFailedUnloadFirst((ModelGeneration<FakeModel> Generation, ModelArtifact? Bytes) unloaded, CancellationToken cancellationToken) =>
        Calls.Add($"restore {unloaded.Generation.Model.Content}");

    public MemoryBudget.Reservation? ReserveMemory(LoadAttempt<FakeModel> attempt, ModelArtifact? artifact)
    {
        Calls.Add("reserve");
        if (Reserve is not { } bytes)
        {
            return null;
        }

        var reservation = new MemoryBudget.Reservation(bytes, overdraft: false);
        attempt.HoldReservation(_budget, reservation);
        return Reservation = reservation;
    }

    public void CancelReservation(MemoryBudget.Reservation? reservation)
    {
        Calls.Add(reservation is null ? "cancel none" : "cancel");
        Cancelled.Add(reservation);
    }

    public long RetainedBytes(ModelArtifact? artifact, ModelLoadReason reason)
    {
        Calls.Add("retained");
        return Retained;
    }

    public long MeasureSize(LoadAttempt<FakeModel> attempt, FakeModel model, ModelArtifact? artifact, long allocated, MemoryBudget.Reservation? reservation, long retained)
    {
        Calls.Add($"measure {model.Content} retained {retained}");
        if (MeasureFails is { } failure)
        {
            model.Dispose();
            throw failure;
        }

        return Size;
    }
}
