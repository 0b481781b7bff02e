using Microsoft.Extensions.Time.Testing;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="MeasureSizeStep{TModel}"/> on its own: the load time, the bytes kept beside the model, and the fitted size.</summary>
public sealed class MeasureSizeStepTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Run_notes_how_long_building_took_then_fits_the_size_with_the_retained_bytes()
    {
        var host = new FakeStepHost { Size = 300, Retained = 7 };
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(host, time: _time));
        context.Model = new FakeModel("v1");
        context.BuildStarted = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.True(new MeasureSizeStep<FakeModel>().Run(context));

        Assert.Equal(TimeSpan.FromSeconds(3), context.LoadTime);
        Assert.Equal(300, context.Size);
        Assert.Equal(7, context.Retained);
        Assert.Equal(["retained", "measure v1 retained 7"], host.Calls);
    }

    [Fact]
    public void Run_passes_on_a_model_that_does_not_fit()
    {
        var host = new FakeStepHost { MeasureFails = new InvalidOperationException("too large") };
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(host, time: _time));
        context.Model = new FakeModel("v1");

        var error = Assert.Throws<InvalidOperationException>(() => new MeasureSizeStep<FakeModel>().Run(context));

        Assert.Equal("too large", error.Message);
        Assert.True(context.Model.IsDisposed);
    }
}
