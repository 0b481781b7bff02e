using Microsoft.Extensions.Logging.Abstractions;
using ModelCaching.FailSafe;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="ValidateStep{TModel}"/> on its own: every validator runs on the new model; one that throws disposes it.</summary>
public sealed class ValidateStepTests
{
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };

    [Fact]
    public void Run_runs_each_validator_on_the_model_in_order()
    {
        var seen = new List<string>();
        _settings.Validators.Add((model, _) =>
        {
            seen.Add($"first {model.Content}");
            return ValueTask.CompletedTask;
        });
        _settings.Validators.Add((model, _) =>
        {
            seen.Add($"second {model.Content}");
            return ValueTask.CompletedTask;
        });
        LoadContext<FakeModel> context = WithModel("v1");

        Assert.True(Step().Run(context));

        Assert.Equal(["first v1", "second v1"], seen);
        Assert.False(context.Model!.IsDisposed);
        Assert.Equal("validating", context.Attempt.Step);
        Assert.Equal(ContentCheck.Validation, Step().Check);
    }

    [Fact]
    public void Run_disposes_a_model_whose_validator_throws_and_rethrows()
    {
        var later = false;
        _settings.Validators.Add((_, _) => throw new InvalidOperationException("accuracy too low"));
        _settings.Validators.Add((_, _) =>
        {
            later = true;
            return ValueTask.CompletedTask;
        });
        LoadContext<FakeModel> context = WithModel("v1");

        var error = Assert.Throws<InvalidOperationException>(() => Step().Run(context));

        Assert.Equal("accuracy too low", error.Message);
        Assert.Equal(1, context.Model!.DisposeCount);
        Assert.False(later);
    }

    [Fact]
    public void Run_passes_the_attempts_token_to_each_validator()
    {
        CancellationToken seen = default;
        _settings.Validators.Add((_, token) =>
        {
            seen = token;
            return ValueTask.CompletedTask;
        });
        LoadContext<FakeModel> context = WithModel("v1");

        Step().Run(context);

        Assert.Equal(context.Attempt.CancellationToken, seen);
    }

    [Fact]
    public void Run_with_no_validators_leaves_the_model_alone()
    {
        LoadContext<FakeModel> context = WithModel("v1");

        Assert.True(Step().Run(context));

        Assert.False(context.Model!.IsDisposed);
        Assert.Equal("waiting for a load slot", context.Attempt.Step);
    }

    private LoadContext<FakeModel> WithModel(string content)
    {
        LoadContext<FakeModel> context = Context(artifact: Artifact(content), pipeline: Pipeline(settings: _settings));
        context.Model = new FakeModel(content);
        return context;
    }

    private static ValidateStep<FakeModel> Step() => new();
}
