using Microsoft.Extensions.Time.Testing;

namespace ModelCaching.Tests.Support;

/// <summary>Builds caches over a <see cref="MutableSource"/> and a <see cref="FakeLoader"/> for tests.</summary>
public sealed class CacheFactory
{
    public MutableSource Source { get; } = new("v1");

    public FakeLoader Loader { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public ModelOptions<FakeModel> Options(Action<ModelOptions<FakeModel>>? configure = null)
    {
        var options = new ModelOptions<FakeModel> { Source = Source, Loader = Loader, DrainDelay = TimeSpan.Zero };
        configure?.Invoke(options);
        return options;
    }

    public ModelCache<FakeModel> Create(Action<ModelOptions<FakeModel>>? configure = null, string name = "test-model") =>
        new(name, Options(configure), Time);
}
