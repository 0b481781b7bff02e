using ModelCaching.Generations;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="UnloadFirstStep{TModel}"/> on its own: the serving generation leaves before the new model is built.</summary>
public sealed class UnloadFirstStepTests
{
    private readonly FakeStepHost _host = new();

    [Theory]
    [InlineData(ModelLoadReason.SourceChanged)]
    [InlineData(ModelLoadReason.Explicit)]
    [InlineData(ModelLoadReason.Retry)]
    public void Run_of_a_reload_unloads_the_serving_generation_and_keeps_it_to_restore(ModelLoadReason reason)
    {
        ModelGeneration<FakeModel> current = Current("v1");
        LoadContext<FakeModel> context = Context(reason, current, Artifact("v2"), pipeline: Pipeline(_host));

        Assert.True(new UnloadFirstStep<FakeModel>().Run(context));

        Assert.Equal(["unload v1"], _host.Calls);
        Assert.Same(current, context.UnloadedFirst!.Value.Generation);
        Assert.Same(current.Artifact, context.UnloadedFirst.Value.Bytes);
    }

    [Fact]
    public void Run_of_a_first_load_unloads_nothing()
    {
        LoadContext<FakeModel> context = Context(ModelLoadReason.FirstUse, Current("v1"), Artifact("v2"), pipeline: Pipeline(_host));

        Assert.True(new UnloadFirstStep<FakeModel>().Run(context));

        Assert.Empty(_host.Calls);
        Assert.Null(context.UnloadedFirst);
    }

    [Fact]
    public void Run_with_nothing_serving_unloads_nothing()
    {
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, current: null, Artifact("v2"), pipeline: Pipeline(_host));

        Assert.True(new UnloadFirstStep<FakeModel>().Run(context));

        Assert.Empty(_host.Calls);
        Assert.Null(context.UnloadedFirst);
    }

    [Fact]
    public void Run_when_the_generation_no_longer_serves_has_nothing_to_restore()
    {
        _host.Unloads = false;
        LoadContext<FakeModel> context = Context(ModelLoadReason.SourceChanged, Current("v1"), Artifact("v2"), pipeline: Pipeline(_host));

        Assert.True(new UnloadFirstStep<FakeModel>().Run(context));

        Assert.Null(context.UnloadedFirst);
    }
}
