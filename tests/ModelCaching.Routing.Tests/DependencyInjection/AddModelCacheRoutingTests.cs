using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelCaching.Routing.Tests.DependencyInjection;

public sealed class AddModelCacheRoutingTests
{
    private static OptionsValidationException Invalid(Action<ModelCacheRoutingOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddReverseProxy().AddModelCacheRouting(configure);
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ModelCacheRoutingOptions>>().Value);
    }

    [Fact]
    public void WithoutRedis_TheOptionsSayWhatToSet()
    {
        OptionsValidationException ex = Invalid(_ => { });
        Assert.Contains("ModelCacheRouting: Configuration (the fleet's Redis, localhost:6379), ConfigurationOptions or ConnectionMultiplexerFactory must be set", ex.Failures);
    }

    [Fact]
    public void AFormatWithoutTheRouteValue_IsRefused_NamingThePlaceholder()
    {
        OptionsValidationException ex = Invalid(o => { o.Configuration = "localhost:1"; o.RouteValueName = "tenant"; o.ModelNameFormat = "tenant-{id}"; });
        Assert.Contains(ex.Failures, f => f.Contains("ModelNameFormat 'tenant-{id}' must hold '{tenant}'", StringComparison.Ordinal));
    }

    [Fact]
    public void AFormatWithTheRouteValueTwice_IsRefused()
    {
        OptionsValidationException ex = Invalid(o => { o.Configuration = "localhost:1"; o.ModelNameFormat = "{id}-{id}"; });
        Assert.Contains(ex.Failures, f => f.Contains("exactly once", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryBadValue_IsReportedAtOnce_EachNamingItsField()
    {
        OptionsValidationException ex = Invalid(o =>
        {
            o.Configuration = "localhost:1";
            o.FleetName = "no spaces";
            o.ClusterId = "";
            o.RefreshInterval = TimeSpan.FromMilliseconds(10);
            o.ReactivationPeriod = TimeSpan.Zero;
            o.MaxAttempts = 0;
            o.MaxBufferedBodyBytes = -1;
        });

        Assert.Equal(6, ex.Failures.Count());
        foreach (string field in (string[])["FleetName", "ClusterId", "RefreshInterval", "ReactivationPeriod", "MaxAttempts", "MaxBufferedBodyBytes"])
        {
            Assert.Contains(ex.Failures, f => f.StartsWith($"ModelCacheRouting: {field} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheModelName_IsTheFormatWithTheRouteValueInIt()
    {
        var settings = new RoutingSettings(new ModelCacheRoutingOptions { Configuration = "localhost:1", RouteValueName = "tenant", ModelNameFormat = "t-{tenant}.v1" });
        Assert.Equal("t-acme.v1", settings.ModelName("acme"));
    }
}
