using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="ReserveMemoryStep{TModel}"/> on its own: the reservation the cache makes is the context's and the attempt's.</summary>
public sealed class ReserveMemoryStepTests
{
    [Fact]
    public void Run_keeps_the_reservation_in_the_context_and_the_attempt_holds_it()
    {
        var host = new FakeStepHost { Reserve = 60 };
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(host));

        Assert.True(new ReserveMemoryStep<FakeModel>().Run(context));

        Assert.NotNull(host.Reservation);
        Assert.Same(host.Reservation, context.Reservation);
        Assert.Same(host.Reservation, context.Attempt.TakeReservation());
    }

    [Fact]
    public void Run_without_a_budget_reserves_nothing()
    {
        var host = new FakeStepHost();
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(host));

        Assert.True(new ReserveMemoryStep<FakeModel>().Run(context));

        Assert.Equal(["reserve"], host.Calls);
        Assert.Null(context.Reservation);
    }
}
