using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;
using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Loading;

/// <summary><see cref="LoadPipeline{TModel}"/> on its own: what a fetch found, the integrity checks, and building a model.</summary>
public sealed class LoadPipelineTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLoader _loader = new();
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };
    private readonly FailSafePolicy _failSafe;
    private ModelArtifact? _next;
    private ModelFetchContext? _lastContext;

    public LoadPipelineTests() => _failSafe = new FailSafePolicy(_time, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);

    [Fact]
    public void Fetch_of_new_content_says_it_needs_loading_and_passes_the_current_version_and_limit_to_the_source()
    {
        ModelGeneration<FakeModel> current = Current("v1");
        _settings.MaxArtifactBytes = 1234;
        _next = Artifact("v2");

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.SourceChanged), current, _settings.MaxArtifactBytes);

        Assert.Same(_next, outcome.Artifact);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Null(outcome.KnownBadFailure);
        Assert.Equal(new ModelFetchContext("m", current.Version, 1234), _lastContext);
    }

    [Fact]
    public void Fetch_with_nothing_loaded_yet_says_the_content_is_new()
    {
        _next = Artifact("v1");

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.FirstUse), current: null, _settings.MaxArtifactBytes);

        Assert.Same(_next, outcome.Artifact);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Null(_lastContext!.Current);
    }

    [Fact]
    public void Fetch_of_unchanged_content_without_bytes_is_the_same_as_the_current_one()
    {
        _next = null;

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.SourceChanged), Current("v1"), _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
        Assert.Null(outcome.Artifact);
    }

    [Fact]
    public void Fetch_of_unchanged_content_with_nothing_loaded_is_an_error()
    {
        _next = null;

        var error = Assert.Throws<InvalidOperationException>(() => Pipeline().Fetch(Attempt(ModelLoadReason.FirstUse), current: null, _settings.MaxArtifactBytes));

        Assert.Equal("the source reported its content unchanged, but no model is loaded", error.Message);
    }

    [Fact]
    public void Fetch_of_the_same_bytes_as_the_current_generation_is_the_same_content()
    {
        _next = Artifact("v1");

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.SourceChanged), Current("v1"), _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
    }

    [Fact]
    public void Fetch_of_the_same_ETag_without_bytes_is_the_same_content()
    {
        _next = ModelArtifact.WithoutContent("memory:test", versionId: "etag-1");
        var version = new ModelVersion("etag-1", 1, "memory:test", DateTimeOffset.UnixEpoch, 0, ETag: "etag-1");
        var current = new ModelGeneration<FakeModel>("m", new FakeModel("v1"), version, null, NullLogger.Instance);

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.RefreshAhead), current, _settings.MaxArtifactBytes);

        Assert.True(outcome.IsSameAsCurrent);
    }

    [Fact]
    public void Fetch_of_content_without_bytes_or_version_is_always_new()
    {
        _next = ModelArtifact.WithoutContent("memory:test");

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.RefreshAhead), Current("v1"), _settings.MaxArtifactBytes);

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

        FetchOutcome outcome = Pipeline().Fetch(Attempt(reason), Current("v1"), _settings.MaxArtifactBytes);

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

        FetchOutcome outcome = Pipeline().Fetch(Attempt(ModelLoadReason.Explicit), Current("v1"), _settings.MaxArtifactBytes);

        Assert.Null(outcome.KnownBadFailure);
        Assert.False(outcome.IsSameAsCurrent);
        Assert.Same(_next, outcome.Artifact);
    }

    [Fact]
    public void CheckIntegrity_rejects_content_over_the_size_limit()
    {
        _settings.MaxArtifactBytes = 3;

        var error = Assert.Throws<InvalidDataException>(() => Pipeline().CheckIntegrity(Attempt(), Artifact("four")));

        Assert.Equal("memory:test is larger than the limit of 3 bytes (at least 4 bytes). Raise ModelOptions.MaxArtifactBytes if the model really is this large.", error.Message);
    }

    [Fact]
    public void CheckIntegrity_accepts_content_exactly_at_the_size_limit()
    {
        _settings.MaxArtifactBytes = 4;

        Pipeline().CheckIntegrity(Attempt(), Artifact("four"));
    }

    [Fact]
    public void CheckIntegrity_rejects_a_SHA256_other_than_the_one_in_the_options()
    {
        string expected = Sha256("other");
        _settings.ExpectedSha256 = expected.ToUpperInvariant();

        var error = Assert.Throws<InvalidDataException>(() => Pipeline().CheckIntegrity(Attempt(), Artifact("v1")));

        Assert.Equal($"SHA-256 mismatch: expected {expected}, the content has {Sha256("v1")}", error.Message);
    }

    [Fact]
    public void CheckIntegrity_rejects_a_SHA256_other_than_the_one_in_the_sidecar()
    {
        string expected = Sha256("other");
        ModelArtifact artifact = new(Encoding.UTF8.GetBytes("v1"), "memory:test", expectedSha256: expected);

        var error = Assert.Throws<InvalidDataException>(() => Pipeline().CheckIntegrity(Attempt(), artifact));

        Assert.Equal($"SHA-256 mismatch: expected {expected}, the content has {Sha256("v1")}", error.Message);
    }

    [Fact]
    public void CheckIntegrity_accepts_matching_SHA256s_from_options_and_sidecar_in_any_case()
    {
        _settings.ExpectedSha256 = Sha256("v1").ToUpperInvariant();
        ModelArtifact artifact = new(Encoding.UTF8.GetBytes("v1"), "memory:test", expectedSha256: Sha256("v1"));

        Pipeline().CheckIntegrity(Attempt(), artifact);
    }

    [Fact]
    public void CheckIntegrity_skips_the_SHA256_of_content_without_bytes()
    {
        _settings.ExpectedSha256 = Sha256("v1");

        Pipeline().CheckIntegrity(Attempt(), ModelArtifact.WithoutContent("memory:test"));
    }

    [Fact]
    public void Build_then_Prepare_loads_validates_and_warms_up_the_model_in_that_order()
    {
        var steps = new List<string>();
        _settings.Validators.Add((model, _) =>
        {
            steps.Add($"validate {model.Content}");
            return ValueTask.CompletedTask;
        });
        _settings.WarmUps.Add((model, _) =>
        {
            steps.Add($"warm up {model.Content}");
            return ValueTask.CompletedTask;
        });
        LoadAttempt<FakeModel> attempt = Attempt();

        FakeModel model = BuildAndPrepare(attempt, "v1");

        Assert.Equal("v1", model.Content);
        Assert.False(model.IsDisposed);
        Assert.Equal(["validate v1", "warm up v1"], steps);
        Assert.Equal("warming up", attempt.Step);
    }

    [Fact]
    public void Prepare_disposes_a_model_whose_validator_throws_and_rethrows()
    {
        _settings.Validators.Add((_, _) => throw new InvalidOperationException("accuracy too low"));
        var warmedUp = false;
        _settings.WarmUps.Add((_, _) =>
        {
            warmedUp = true;
            return ValueTask.CompletedTask;
        });
        LoadAttempt<FakeModel> attempt = Attempt();

        var error = Assert.Throws<InvalidOperationException>(() => BuildAndPrepare(attempt, "v1"));

        Assert.Equal("accuracy too low", error.Message);
        Assert.Equal(1, Assert.Single(_loader.Created).DisposeCount);
        Assert.False(warmedUp);
        Assert.Equal("validating", attempt.Step);
    }

    [Fact]
    public async Task Prepare_disposes_a_model_whose_asynchronous_warm_up_fails_and_rethrows()
    {
        _settings.WarmUps.Add(async (_, _) =>
        {
            await Task.Yield();
            throw new TimeoutException("warm-up prediction hung");
        });

        var error = await Task.Run(() => Assert.Throws<TimeoutException>(() => BuildAndPrepare(Attempt(), "v1")));

        Assert.Equal("warm-up prediction hung", error.Message);
        Assert.Equal(1, Assert.Single(_loader.Created).DisposeCount);
    }

    [Fact]
    public void Build_passes_on_a_loader_failure()
    {
        var error = Assert.Throws<InvalidDataException>(() => Pipeline().Build(Attempt(), Artifact("bad-v1"), out _));

        Assert.Equal("corrupt model 'bad-v1'", error.Message);
    }

    [Fact]
    public void Load_of_a_loader_returning_null_is_an_error_naming_the_loader()
    {
        var pipeline = new LoadPipeline<FakeModel>("m", "memory:test", Source(), new NullLoader(), factory: null, _settings, _failSafe, NullLogger.Instance);

        var error = Assert.Throws<InvalidOperationException>(() => pipeline.Load(Artifact("v1"), CancellationToken.None));

        Assert.Equal("the loader NullLoader returned null", error.Message);
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

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static ModelArtifact Artifact(string text) => new(Encoding.UTF8.GetBytes(text), "memory:test");

    private static LoadAttempt<FakeModel> Attempt(ModelLoadReason reason = ModelLoadReason.FirstUse) => new(
        reason,
        artifact: null,
        new TaskCompletionSource<ModelGeneration<FakeModel>>(),
        ModelLoadLimiter.Unlimited,
        TimeProvider.System,
        Timeout.InfiniteTimeSpan,
        static _ => { },
        static (_, _) => { },
        static _ => { });

    private static ModelGeneration<FakeModel> Current(string text)
    {
        ModelArtifact artifact = Artifact(text);
        var version = new ModelVersion(artifact.ContentHash!, 1, "memory:test", DateTimeOffset.UnixEpoch, artifact.Length);
        return new ModelGeneration<FakeModel>("m", new FakeModel(text), version, artifact, NullLogger.Instance);
    }

    private DelegateModelSource Source() => new(
        (context, _) =>
        {
            _lastContext = context;
            return ValueTask.FromResult(_next);
        },
        "memory:test");

    private LoadPipeline<FakeModel> Pipeline() => new("m", "memory:test", Source(), _loader, factory: null, _settings, _failSafe, NullLogger.Instance);

    private sealed class NullLoader : IModelLoader<FakeModel>
    {
        public ValueTask<FakeModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) => ValueTask.FromResult<FakeModel>(null!);
    }

    private FakeModel BuildAndPrepare(LoadAttempt<FakeModel> attempt, string content)
    {
        LoadPipeline<FakeModel> pipeline = Pipeline();
        FakeModel model = pipeline.Build(attempt, Artifact(content), out _);
        pipeline.Prepare(attempt, model);
        return model;
    }
}
