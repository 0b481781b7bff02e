using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Loading.Steps;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading;

/// <summary>
/// <see cref="LoadPipeline{TModel}"/> on its own: the list of steps it builds from the options, and what a run of them
/// gives back: a model, unchanged, skipped, or a failure that undoes the reservation and an unload-first swap and says
/// whether the content was at fault. The cache is a <see cref="FakeStepHost"/>; each step has its own tests (Steps/).
/// </summary>
public sealed class LoadPipelineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLoader _loader = new();
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };
    private readonly FakeStepHost _host = new();
    private readonly FailSafePolicy _failSafe;

    public LoadPipelineTests() => _failSafe = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    [Fact]
    public void A_model_from_a_source_is_fetched_checked_reserved_built_validated_warmed_up_and_measured_in_that_order()
    {
        Assert.Equal(
            [typeof(FetchStep<FakeModel>), typeof(IntegrityStep<FakeModel>), typeof(ReserveMemoryStep<FakeModel>), typeof(BuildStep<FakeModel>), typeof(ValidateStep<FakeModel>), typeof(WarmUpStep<FakeModel>), typeof(MeasureSizeStep<FakeModel>)],
            Pipeline().Steps.Select(step => step.GetType()));
    }

    [Fact]
    public void An_unload_first_swap_unloads_after_the_integrity_check_and_before_the_memory_is_reserved()
    {
        _settings.SwapMode = ModelSwapMode.UnloadFirst;

        Assert.Equal(
            [typeof(FetchStep<FakeModel>), typeof(IntegrityStep<FakeModel>), typeof(UnloadFirstStep<FakeModel>), typeof(ReserveMemoryStep<FakeModel>), typeof(BuildStep<FakeModel>), typeof(ValidateStep<FakeModel>), typeof(WarmUpStep<FakeModel>), typeof(MeasureSizeStep<FakeModel>)],
            Pipeline().Steps.Select(step => step.GetType()));
    }

    [Fact]
    public void A_model_a_factory_builds_is_reserved_built_validated_warmed_up_and_measured_with_nothing_to_fetch_or_check()
    {
        Assert.Equal(
            [typeof(ReserveMemoryStep<FakeModel>), typeof(FactoryBuildStep<FakeModel>), typeof(ValidateStep<FakeModel>), typeof(WarmUpStep<FakeModel>), typeof(MeasureSizeStep<FakeModel>)],
            Pipeline(new Factory(new FakeModel("built"))).Steps.Select(step => step.GetType()));
    }

    [Fact]
    public void Run_of_new_content_gives_the_model_its_size_the_bytes_kept_the_reservation_and_the_load_time()
    {
        _host.Reserve = 60;
        _host.Size = 300;
        _host.Retained = 7;
        _settings.Validators.Add((_, _) =>
        {
            _time.Advance(TimeSpan.FromSeconds(2));
            return ValueTask.CompletedTask;
        });
        LoadAttempt<FakeModel> attempt = Attempt(ModelLoadReason.SourceChanged);

        LoadOutcome<FakeModel> outcome = Pipeline().Run(attempt, Current("v1"));

        Assert.Equal("v2", outcome.Model!.Content);
        Assert.Equal("v2", Assert.Single(_loader.Created).Content);
        Assert.Equal(Artifact("v2").ContentHash, outcome.Artifact!.ContentHash);
        Assert.Equal(300, outcome.Size);
        Assert.Equal(7, outcome.Retained);
        Assert.Same(_host.Reservation, outcome.Reservation);
        Assert.Same(_host.Reservation, attempt.TakeReservation());
        Assert.Equal(TimeSpan.FromSeconds(2), outcome.LoadTime);
        Assert.Null(outcome.Error);
        Assert.Equal(["fetch", "source found", "reserve", "retained", "measure v2 retained 7"], _host.Calls);
    }

    [Fact]
    public void Run_of_unchanged_content_is_unchanged_and_builds_nothing()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        _host.Serving = current;
        _host.OnFetch = static (_, _) => FetchOutcome.SameAsCurrent(null);

        LoadOutcome<FakeModel> outcome = Pipeline().Run(Attempt(ModelLoadReason.RefreshAhead), current);

        Assert.Same(current, outcome.Unchanged);
        Assert.Null(outcome.Model);
        Assert.Null(outcome.Error);
        Assert.Empty(_loader.Created);
        Assert.Equal(["fetch"], _host.Calls);
    }

    [Fact]
    public void Run_of_known_bad_content_is_skipped_with_its_failure_and_its_content()
    {
        ModelArtifact bad = Artifact("bad-v2");
        var failure = new ModelLoadException("m", "memory:test", "known bad");
        _host.OnFetch = (_, _) => FetchOutcome.KnownBad(bad, failure);

        LoadOutcome<FakeModel> outcome = Pipeline().Run(Attempt(ModelLoadReason.SourceChanged), Current("v1"));

        Assert.True(outcome.Skipped);
        Assert.Same(failure, outcome.Error);
        Assert.Same(bad, outcome.Artifact);
        Assert.False(outcome.ContentAtFault);
        Assert.Empty(_loader.Created);
    }

    [Fact]
    public void Run_that_fails_gives_back_the_reservation_the_attempt_held()
    {
        _host.Reserve = 60;
        _host.OnFetch = static (_, _) => FetchOutcome.New(Artifact("bad-v2"));
        LoadAttempt<FakeModel> attempt = Attempt(ModelLoadReason.SourceChanged);

        LoadOutcome<FakeModel> outcome = Pipeline().Run(attempt, Current("v1"));

        Assert.IsType<InvalidDataException>(outcome.Error);
        Assert.True(outcome.ContentAtFault);
        Assert.Equal("bad-v2", System.Text.Encoding.UTF8.GetString(outcome.Artifact!.Content.Span));
        Assert.Null(attempt.TakeReservation());
        Assert.Same(_host.Reservation, Assert.Single(_host.Cancelled));
        Assert.Null(outcome.Model);
    }

    [Theory]
    [InlineData("fetch", false)]
    [InlineData("loader", false)]
    [InlineData("validator", true)]
    [InlineData("warm-up", true)]
    [InlineData("measure", false)]
    public void Run_that_fails_with_an_exception_of_no_known_kind_blames_the_content_only_in_a_step_that_judges_it(string failingStep, bool contentAtFault)
    {
        var failure = new InvalidOperationException($"the {failingStep} failed");
        switch (failingStep)
        {
            case "fetch":
                _host.OnFetch = (_, _) => throw failure;
                break;
            case "loader":
                _loader.BeforeLoad = _ => throw failure;
                break;
            case "validator":
                _settings.Validators.Add((_, _) => throw failure);
                break;
            case "warm-up":
                _settings.WarmUps.Add((_, _) => throw failure);
                break;
            default:
                _host.MeasureFails = failure;
                break;
        }

        LoadOutcome<FakeModel> outcome = Pipeline().Run(Attempt(ModelLoadReason.SourceChanged), Current("v1"));

        Assert.Same(failure, outcome.Error);
        Assert.Equal(contentAtFault, outcome.ContentAtFault);
    }

    [Fact]
    public void Run_that_fails_after_an_unload_first_swap_restores_the_unloaded_generation()
    {
        _settings.SwapMode = ModelSwapMode.UnloadFirst;
        _settings.Validators.Add((_, _) => throw new InvalidDataException("schema mismatch"));

        LoadOutcome<FakeModel> outcome = Pipeline().Run(Attempt(ModelLoadReason.SourceChanged), Current("v1"));

        Assert.IsType<InvalidDataException>(outcome.Error);
        Assert.Equal(["fetch", "source found", "unload v1", "reserve", "cancel none", "restore v1"], _host.Calls);
    }

    [Fact]
    public void Run_of_an_abandoned_attempt_that_fails_after_an_unload_first_swap_restores_nothing()
    {
        _settings.SwapMode = ModelSwapMode.UnloadFirst;
        _settings.Validators.Add((_, _) => throw new OperationCanceledException("abandoned"));
        LoadAttempt<FakeModel> attempt = Attempt(ModelLoadReason.SourceChanged);
        attempt.AbandonForDisposal();
        attempt.Start();
        Assert.True(attempt.IsAbandoned);

        LoadOutcome<FakeModel> outcome = Pipeline().Run(attempt, Current("v1"));

        Assert.IsType<OperationCanceledException>(outcome.Error);
        Assert.DoesNotContain("restore v1", _host.Calls);
        Assert.Contains("unload v1", _host.Calls);
    }

    [Fact]
    public void Run_of_a_factory_that_hands_back_the_serving_instance_is_unchanged_and_neither_validated_nor_disposed()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        var validated = false;
        _settings.Validators.Add((_, _) =>
        {
            validated = true;
            return ValueTask.CompletedTask;
        });

        LoadOutcome<FakeModel> outcome = Pipeline(new Factory(current.Model)).Run(Attempt(ModelLoadReason.Explicit), current);

        Assert.Same(current, outcome.Unchanged);
        Assert.False(validated);
        Assert.False(current.Model.IsDisposed);
        Assert.Equal(["reserve", "cancel none"], _host.Calls);
    }

    [Fact]
    public void Run_of_a_factory_model_that_fails_validation_never_blames_content_it_does_not_have()
    {
        _settings.Validators.Add((_, _) => throw new InvalidDataException("accuracy too low"));
        var built = new FakeModel("built");

        LoadOutcome<FakeModel> outcome = Pipeline(new Factory(built)).Run(Attempt(ModelLoadReason.Explicit), Current("v1"));

        Assert.IsType<InvalidDataException>(outcome.Error);
        Assert.False(outcome.ContentAtFault);
        Assert.Null(outcome.Artifact);
        Assert.Equal(1, built.DisposeCount);
    }

    [Fact]
    public void DiscardLate_of_an_abandoned_attempt_disposes_its_late_model_and_gives_back_the_reservation()
    {
        _host.Reserve = 60;
        LoadAttempt<FakeModel> attempt = Attempt(ModelLoadReason.SourceChanged);
        LoadOutcome<FakeModel> outcome = Pipeline().Run(attempt, Current("v1"));

        Pipeline().DiscardLate(attempt, outcome);

        Assert.True(outcome.Model!.IsDisposed);
        Assert.Null(attempt.TakeReservation());
        Assert.Same(_host.Reservation, Assert.Single(_host.Cancelled));
    }

    [Fact]
    public void DiscardLate_of_an_attempt_that_built_nothing_only_gives_back_the_reservation()
    {
        _host.OnFetch = static (_, _) => FetchOutcome.New(Artifact("bad-v2"));
        LoadAttempt<FakeModel> attempt = Attempt(ModelLoadReason.SourceChanged);
        LoadOutcome<FakeModel> outcome = Pipeline().Run(attempt, Current("v1"));
        _host.Cancelled.Clear();

        Pipeline().DiscardLate(attempt, outcome);

        Assert.Empty(_loader.Created);
        Assert.Equal([null], _host.Cancelled);
    }

    [Theory]
    [InlineData(typeof(FileNotFoundException), "the file was not found (gone)")]
    [InlineData(typeof(DirectoryNotFoundException), "the directory was not found (gone)")]
    [InlineData(typeof(UnauthorizedAccessException), "access was denied (gone)")]
    [InlineData(typeof(OperationCanceledException), "the load was cancelled")]
    [InlineData(typeof(InvalidDataException), "InvalidDataException: gone")]
    public void Describe_names_the_cause_plainly(Type type, string expected)
    {
        var ex = (Exception)Activator.CreateInstance(type, "gone")!;

        Assert.Equal(expected, LoadPipeline<FakeModel>.Describe(ex));
    }

    // The fetch goes through the host (FakeStepHost.OnFetch): the source itself is never read here.
    private static DelegateModelSource Source() => new((_, _) => throw new InvalidOperationException("the source is read through the host"), "memory:test");

    private LoadPipeline<FakeModel> Pipeline(IModelFactory<FakeModel>? factory = null) => factory is null
        ? new("m", "memory:test", Source(), _loader, factory: null, _settings, _failSafe, NullLogger.Instance, _time, _host)
        : new("m", "factory:test", source: null, loader: null, factory, _settings, _failSafe, NullLogger.Instance, _time, _host);

    private sealed class Factory(FakeModel model) : IModelFactory<FakeModel>
    {
        public string Description => "factory:test";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken) => ValueTask.FromResult(model);

        public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => null;
    }
}
