using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelCaching.Redis.Instance;

namespace ModelCaching.Redis.Tests.DependencyInjection;

public sealed class AddRedisFleetTests
{
    [Fact]
    public void Options_BindFromConfiguration()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ModelCache:Fleet:Configuration"] = "redis0:6379,password=secret",
            ["ModelCache:Fleet:FleetName"] = "prod",
            ["ModelCache:Fleet:SigningKey"] = Convert.ToBase64String(new byte[32]),
            ["ModelCache:Fleet:Models:0"] = "taxi-fare",
            ["ModelCache:Fleet:ReconcileInterval"] = "00:01:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddModelCache().AddRedisFleet(configuration.GetSection("ModelCache:Fleet"), o => o.InstanceId = "pod-1");
        using ServiceProvider provider = services.BuildServiceProvider();

        RedisFleetOptions options = provider.GetRequiredService<IOptions<RedisFleetOptions>>().Value;
        Assert.Equal("redis0:6379,password=secret", options.Configuration);
        Assert.Equal("prod", options.FleetName);
        Assert.Equal(["taxi-fare"], options.Models);
        Assert.Equal(TimeSpan.FromMinutes(1), options.ReconcileInterval);
        Assert.Equal("pod-1", options.InstanceId);
        FleetSettings settings = provider.GetRequiredService<FleetSettings>();
        Assert.True(settings.Covers("taxi-fare"));
        Assert.False(settings.Covers("other"));
        Assert.False(settings.Configuration!.AbortOnConnectFail);
    }

    [Theory]
    [InlineData(nameof(RedisFleetOptions.Configuration), "Configuration is not set")]
    [InlineData(nameof(RedisFleetOptions.FleetName), "FleetName 'prod:eu' is not valid")]
    [InlineData(nameof(RedisFleetOptions.SigningKey), "SigningKey must be base64 of at least 16 random bytes")]
    [InlineData(nameof(RedisFleetOptions.MemberTimeToLive), "MemberTimeToLive (00:00:05) must be longer than HeartbeatInterval (00:00:10)")]
    [InlineData(nameof(RedisFleetOptions.VersionsKept), "VersionsKept must be between 2 and 1000")]
    public void InvalidOptions_FailWithAMessageNamingTheField(string field, string message)
    {
        var services = new ServiceCollection();
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = field == nameof(RedisFleetOptions.Configuration) ? null : "localhost:6379";
            o.FleetName = field == nameof(RedisFleetOptions.FleetName) ? "prod:eu" : "prod";
            o.SigningKey = field == nameof(RedisFleetOptions.SigningKey) ? Convert.ToBase64String(new byte[8]) : null;
            o.MemberTimeToLive = field == nameof(RedisFleetOptions.MemberTimeToLive) ? TimeSpan.FromSeconds(5) : o.MemberTimeToLive;
            o.VersionsKept = field == nameof(RedisFleetOptions.VersionsKept) ? 1 : o.VersionsKept;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisFleetOptions>>().Value);
        string problem = Assert.Single(error.Failures);
        Assert.StartsWith("Redis fleet: RedisFleetOptions.", problem, StringComparison.Ordinal);
        Assert.Contains(message, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ModelsRegisteredBefore_GetAFleetSource_AroundTheirOwn_OnceWhateverTheCalls()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<string>("in-fleet", m => m.FromFile("/models/a.txt").UseLoader((a, _) => ValueTask.FromResult("a")))
            .AddRedisFleet(o => o.Configuration = "localhost:6379")
            .AddRedisFleet(o => o.FleetName = "prod");
        using ServiceProvider provider = services.BuildServiceProvider();

        ModelOptions<string> options = provider.GetRequiredService<IOptionsMonitor<ModelOptions<string>>>().Get("in-fleet");
        FleetModelSource source = Assert.IsType<FleetModelSource>(options.Source);
        Assert.IsType<FileModelSource>(source.Inner);
        Assert.Equal("fleet 'prod' (else file:/models/a.txt)", source.Description);
        Assert.Single(provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<FleetHostedService>());
    }

    [Fact]
    public void AModelWithoutASourceOfItsOwn_IsValid_InAFleet()
    {
        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<string>("fleet-only", m => m.UseLoader((a, _) => ValueTask.FromResult("a")))
            .AddRedisFleet(o => o.Configuration = "localhost:6379");
        using ServiceProvider provider = services.BuildServiceProvider();

        ModelOptions<string> options = provider.GetRequiredService<IOptionsMonitor<ModelOptions<string>>>().Get("fleet-only");
        Assert.Null(Assert.IsType<FleetModelSource>(options.Source).Inner);
    }
}
