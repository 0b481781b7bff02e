using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelCaching.Redis.Tests.DependencyInjection;

/// <summary>
/// AddRedisFleet declares the section it binds, so under ModelCache its keys are valid and a misspelled one fails like
/// any other unknown key (issue 20, item 2).
/// </summary>
public sealed class FleetConfigurationKeyTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddModelCache(configuration.GetSection("ModelCache")).AddRedisFleet(configuration.GetSection("ModelCache:Fleet"));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void FleetSection_UnderModelCache_TakesEveryFleetKey()
    {
        using ServiceProvider provider = Build(new()
        {
            ["ModelCache:Fleet:Configuration"] = "redis0:6379",
            ["ModelCache:Fleet:FleetName"] = "prod",
            ["ModelCache:Fleet:Models:0"] = "taxi-fare",
            ["ModelCache:Fleet:reconcileInterval"] = "00:01:00",
            ["ModelCache:Fleet:ConfigurationOptions:ConnectTimeout"] = "5000",
        });

        Assert.NotNull(provider.GetRequiredService<IModelCacheProvider>());
    }

    [Fact]
    public void MisspelledFleetKey_FailsNamingTheKeyItsPathAndTheNearestKey()
    {
        using ServiceProvider provider = Build(new()
        {
            ["ModelCache:Fleet:Configuration"] = "redis0:6379",
            ["ModelCache:Fleet:FleetNmae"] = "prod",
        });

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IModelCacheProvider>());

        string failure = Assert.Single(error.Failures);
        Assert.Equal("ModelCache:Fleet:FleetNmae is not a setting: ModelCache:Fleet (RedisFleetOptions) has no key 'FleetNmae'. Did you mean 'FleetName'?", failure);
    }
}
