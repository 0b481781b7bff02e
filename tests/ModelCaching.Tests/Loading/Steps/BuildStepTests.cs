using Microsoft.Extensions.Time.Testing;
using ModelCaching.FailSafe;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="BuildStep{TModel}"/> on its own: the loader turns the content into a model.</summary>
public sealed class BuildStepTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLoader _loader = new();

    [Fact]
    public void Run_loads_the_content_into_the_context_and_notes_when_building_started_and_what_it_allocated()
    {
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(loader: _loader, time: _time));
        long started = _time.GetTimestamp();

        Assert.True(new BuildStep<FakeModel>().Run(context));

        Assert.Equal("v1", context.Model!.Content);
        Assert.Same(Assert.Single(_loader.Created), context.Model);
        Assert.Equal(started, context.BuildStarted);
        Assert.True(context.Allocated > 0, "loading a model allocates on the attempt's thread");
        Assert.Equal("loading", context.Attempt.Step);
    }

    [Fact]
    public void It_judges_the_content_only_by_what_the_loader_throws()
    {
        Assert.Equal(ContentCheck.Loader, new BuildStep<FakeModel>().Check);
    }

    [Fact]
    public void Run_passes_on_a_loader_failure()
    {
        LoadContext<FakeModel> context = Context(artifact: Artifact("bad-v1"), pipeline: Pipeline(loader: _loader, time: _time));

        var error = Assert.Throws<InvalidDataException>(() => new BuildStep<FakeModel>().Run(context));

        Assert.Equal("corrupt model 'bad-v1'", error.Message);
        Assert.Null(context.Model);
    }

    [Fact]
    public void Load_of_a_loader_returning_null_is_an_error_naming_the_loader()
    {
        var error = Assert.Throws<InvalidOperationException>(() => BuildStep<FakeModel>.Load(new NullLoader(), Artifact("v1"), CancellationToken.None));

        Assert.Equal("the loader NullLoader returned null", error.Message);
    }

    private sealed class NullLoader : IModelLoader<FakeModel>
    {
        public ValueTask<FakeModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken) => ValueTask.FromResult<FakeModel>(null!);
    }
}
