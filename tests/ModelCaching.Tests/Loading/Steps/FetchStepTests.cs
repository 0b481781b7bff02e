using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="FetchStep{TModel}"/> on its own: what a fetch found, and how the step ends the load or passes the content on.</summary>
public sealed class FetchStepTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };
    private readonly FakeStepHost _host = new();
    private readonly FailSafePolicy _failSafe;
    private ModelArtifact? _next;
    private ModelFetchContext? _lastContext;

    public FetchStepTests() => _failSafe = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    [Fact]
    public void Run_with_new_content_passes_it_on_and_says_the_source_has_the_model()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        ModelArtifact fetched = Artifact("v2");
        _host.OnFetch = (_, passed) =>
        {
            Assert.Same(current, passed);
            return FetchOutcome.New(fetched);
        };
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, current);

        Assert.True(Step().Run(context));

        Assert.Same(fetched, context.Artifact);
        Assert.Equal(["fetch", "source found"], _host.Calls);
    }

    [Fact]
    public void Run_with_unchanged_content_ends_the_load_as_unchanged()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        _host.Serving = current;
        _host.OnFetch = static (_, _) => FetchOutcome.SameAsCurrent(null);
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, current);

        Assert.False(Step().Run(context));

        Assert.Same(current, context.Unchanged);
        Assert.Null(context.Artifact);
        Assert.Equal(["fetch"], _host.Calls);
    }

    [Fact]
    public void Run_with_the_serving_bytes_ends_the_load_as_unchanged_while_they_still_serve()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        _host.Serving = current;
        _host.OnFetch = static (_, _) => FetchOutcome.SameAsCurrent(Artifact("v1"));
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, current);

        Assert.False(Step().Run(context));

        Assert.Same(current, context.Unchanged);
    }

    [Fact]
    public void Run_with_the_same_bytes_after_an_unload_took_the_serving_model_away_loads_them_again()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        ModelArtifact same = Artifact("v1");
        _host.Serving = null;
        _host.OnFetch = (_, _) => FetchOutcome.SameAsCurrent(same);
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, current);

        Assert.True(Step().Run(context));

        Assert.Null(context.Unchanged);
        Assert.Same(same, context.Artifact);
        Assert.Equal(["fetch", "source found"], _host.Calls);
    }

    [Fact]
    public void Run_with_known_bad_content_ends_the_load_with_the_failure_and_the_content()
    {
        ModelArtifact bad = Artifact("bad-v2");
        var failure = new ModelLoadException("m", "memory:test", "known bad");
        _host.OnFetch = (_, _) => FetchOutcome.KnownBad(bad, failure);
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, Current("v1"));

        Assert.False(Step().Run(context));

        Assert.Same(failure, context.KnownBad);
        Assert.Same(bad, context.Artifact);
        Assert.Null(context.Unchanged);
        Assert.Equal(["fetch"], _host.Calls);
    }

    [Fact]
    public void Run_with_content_the_attempt_brought_does_not_fetch()
    {
        ModelArtifact kept = Artifact("v0");
        LoadContext<FakeModel> context = Context(ModelLoadReason.Rollback, Current("v1"), kept);

        Assert.True(Step().Run(context));

        Assert.Same(kept, context.Artifact);
        Assert.Equal(["source found"], _host.Calls);
    }

    [Fact]
    public void Fetch_names_its_step_for_timeout_messages()
    {
        _next = Artifact("v1");
        LoadAttempt<FakeModel> attempt = Attempt();

        Step().Fetch(attempt, current: null, _settings.MaxArtifactBytes);

        Assert.Equal("fetching from the source", attempt.Step);
    }

    [Fact]
    public void Fetch_of_new_content_says_it_needs_loading_and_passes_the_current_version_and_limit_to_the_source()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        _settings.MaxArtifactBytes = 1234;
        _next = Artifact("v2");

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.SourceChanged), current, _settings.MaxArtifactBytes);

        Assert.Same(_next, outcome.Artifact);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Null(outcome.KnownBadFailure);
        Assert.NotNull(_lastContext);
        Assert.Equal("m", _lastContext.ModelName);
        Assert.Same(current.Version, _lastContext.Current);
        Assert.Equal(1234, _lastContext.MaxArtifactBytes);
    }

    [Fact]
    public void Fetch_with_nothing_loaded_yet_says_the_content_is_new()
    {
        _next = Artifact("v1");

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.FirstUse), current: null, _settings.MaxArtifactBytes);

        Assert.Same(_next, outcome.Artifact);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Null(_lastContext!.Current);
    }

    [Fact]
    public void Fetch_of_unchanged_content_without_bytes_is_the_same_as_the_current_one()
    {
        _next = null;

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.SourceChanged), Current("v1"), _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
        Assert.Null(outcome.Artifact);
    }

    [Fact]
    public void Fetch_of_unchanged_content_with_nothing_loaded_is_an_error()
    {
        _next = null;

        var error = Assert.Throws<InvalidOperationException>(() => Step().Fetch(Attempt(ModelLoadReason.FirstUse), current: null, _settings.MaxArtifactBytes));

        Assert.Equal("the source reported its content unchanged, but no model is loaded", error.Message);
    }

    [Fact]
    public void Fetch_of_the_same_bytes_as_the_current_generation_is_the_same_content()
    {
        _next = Artifact("v1");

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.SourceChanged), Current("v1"), _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
    }

    [Fact]
    public void Fetch_of_the_same_ETag_without_bytes_is_the_same_content()
    {
        _next = ModelArtifact.WithoutContent("memory:test", versionId: "etag-1");
        var version = new ModelVersion("etag-1", 1, "memory:test", DateTimeOffset.UnixEpoch, 0, eTag: "etag-1");
        var current = new ModelGeneration<FakeModel>("m", new FakeModel("v1"), version, null, NullLogger.Instance);

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.RefreshAhead), current, _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
    }

    [Fact]
    public void Fetch_of_content_without_bytes_or_version_is_always_new()
    {
        _next = ModelArtifact.WithoutContent("memory:test");

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.RefreshAhead), Current("v1"), _settings.MaxArtifactBytes);

        Assert.False(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
    }

    [Theory]
    [InlineData(ModelLoadReason.SourceChanged)]
    [InlineData(ModelLoadReason.Retry)]
    [InlineData(ModelLoadReason.RefreshAhead)]
    [InlineData(ModelLoadReason.FirstUse)]
    public void Fetch_of_known_bad_content_is_skipped_with_the_cause_it_was_rejected_for(ModelLoadReason reason)
    {
        _next = Artifact("bad-v2");
        _failSafe.Reject(_next.ContentHash!, "the validator said no");

        FetchOutcome outcome = Step().Fetch(Attempt(reason), Current("v1"), _settings.MaxArtifactBytes);

        Assert.False(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
        ModelLoadException failure = outcome.KnownBadFailure!;
        Assert.Equal($"its content (SHA-256 {_next.ContentHash}) has not changed since it was rejected: the validator said no", failure.Cause);
        Assert.Equal("m", failure.ModelName);
        Assert.Equal("memory:test", failure.Source);
    }

    [Fact]
    public void Fetch_for_an_explicit_reload_tries_known_bad_content_again()
    {
        _next = Artifact("bad-v2");
        _failSafe.Reject(_next.ContentHash!, "the validator said no");

        FetchOutcome outcome = Step().Fetch(Attempt(ModelLoadReason.Explicit), Current("v1"), _settings.MaxArtifactBytes);

        Assert.Null(outcome.KnownBadFailure);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
    }

    private DelegateModelSource Source() => new(
        (context, _) =>
        {
            _lastContext = context;
            return ValueTask.FromResult(_next);
        },
        "memory:test");

    private FetchStep<FakeModel> Step() => new("m", "memory:test", Source(), _failSafe, NullLogger.Instance, _host);
}
