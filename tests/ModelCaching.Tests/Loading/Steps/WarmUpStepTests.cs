using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.FailSafe;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="WarmUpStep{TModel}"/> on its own: every warm-up runs before the model serves; one that fails disposes it.</summary>
public sealed class WarmUpStepTests
{
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };

    [Fact]
    public void Run_runs_each_warm_up_on_the_model_and_judges_the_content_like_a_validator()
    {
        var seen = new List<string>();
        _settings.WarmUps.Add((model, _) =>
        {
            seen.Add($"warm up {model.Content}");
            return ValueTask.CompletedTask;
        });
        LoadContext<FakeModel> context = WithModel("v1");

        Assert.True(Step().Run(context));

        Assert.Equal(["warm up v1"], seen);
        Assert.False(context.Model!.IsDisposed);
        Assert.Equal("warming up", context.Attempt.Step);
        Assert.Equal(ContentCheck.Validation, Step().Check);
    }

    [Fact]
    public async Task Run_disposes_a_model_whose_asynchronous_warm_up_fails_and_rethrows()
    {
        _settings.WarmUps.Add(async (_, _) =>
        {
            await Task.Yield();
            throw new TimeoutException("warm-up prediction hung");
        });
        LoadContext<FakeModel> context = WithModel("v1");

        var error = await Task.Run(() => Assert.Throws<TimeoutException>(() => Step().Run(context)));

        Assert.Equal("warm-up prediction hung", error.Message);
        Assert.Equal(1, context.Model!.DisposeCount);
    }

    private LoadContext<FakeModel> WithModel(string content)
    {
        LoadContext<FakeModel> context = Context(artifact: Artifact(content), pipeline: Pipeline(settings: _settings));
        context.Model = new FakeModel(content);
        return context;
    }

    private static WarmUpStep<FakeModel> Step() => new();
}
