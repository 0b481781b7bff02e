using Microsoft.Extensions.Time.Testing;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="FactoryBuildStep{TModel}"/> on its own: built, not read; the serving instance handed back is "unchanged".</summary>
public sealed class FactoryBuildStepTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeStepHost _host = new() { Reserve = 60 };

    [Fact]
    public void Run_puts_a_new_model_in_the_context()
    {
        var built = new FakeModel("built");
        LoadContext<FakeModel> context = Context(ModelLoadReason.Explicit, Current("v1"), pipeline: Building(built));

        Assert.True(Step().Run(context));

        Assert.Same(built, context.Model);
        Assert.Null(context.Unchanged);
        Assert.Equal(_time.GetTimestamp(), context.BuildStarted);
        Assert.Equal("building", context.Attempt.Step);
        Assert.Empty(_host.Calls);
    }

    [Fact]
    public void Run_that_gets_the_serving_instance_back_ends_the_load_as_unchanged_and_gives_back_the_reservation()
    {
        var current = Current("v1");
        LoadContext<FakeModel> context = Context(ModelLoadReason.Explicit, current, pipeline: Building(current.Model));
        context.Reservation = _host.ReserveMemory(context.Attempt, artifact: null);

        Assert.False(Step().Run(context));

        Assert.Same(current, context.Unchanged);
        Assert.Null(context.Model);
        Assert.False(current.Model.IsDisposed);
        Assert.Null(context.Attempt.TakeReservation());
        Assert.Equal(["reserve", "cancel"], _host.Calls);
        Assert.Same(_host.Reservation, Assert.Single(_host.Cancelled));
    }

    [Fact]
    public void Run_of_a_factory_returning_null_is_an_error_naming_the_factory()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Step().Run(Context(pipeline: Building(null!))));

        Assert.Equal("the factory NullFactory returned null", error.Message);
    }

    private static FactoryBuildStep<FakeModel> Step() => new();

    // A model whose factory hands back model.
    private LoadPipeline<FakeModel> Building(FakeModel model) => Pipeline(_host, factory: new NullFactory(model), time: _time);

    // Named for the message when it returns null.
    private sealed class NullFactory(FakeModel model) : IModelFactory<FakeModel>
    {
        public string Description => "factory:test";

        public ValueTask<FakeModel> CreateAsync(CancellationToken cancellationToken) => ValueTask.FromResult(model);

        public Microsoft.Extensions.Primitives.IChangeToken? GetChangeToken() => null;
    }
}
