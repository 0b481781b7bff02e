using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Redis.Records;
using ModelCaching.Redis.Tests.Support;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Placement;

/// <summary>
/// On a real redis-server: membership entries that another version, a bug or anyone who can write the keys left behind
/// (nulls where the record says not, a state this version does not know, wrong types) are no members for placement nor
/// for the fleet's status, and stop neither: the status read lists the live instance, and placement keeps placing.
/// </summary>
public sealed class HostileMemberEntryTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task HostileEntries_AreNoMembers_AndStopNeitherTheStatusReadNorPlacement()
    {
        await using PlacedFleet fleet = await PlacedFleet.StartAsync(redis.Server, instances: 1, names: 10, replicas: 1);
        PlacedHost host = fleet[0];
        FleetKeys keys = host.Services.GetRequiredService<FleetSettings>().Keys;
        (string Id, string Json)[] hostile =
        [
            ("null-models", """{"instanceId":"null-models","host":"h","replicas":1,"models":null}"""),
            ("null-id", """{"instanceId":null,"host":"h","replicas":1,"models":[]}"""),
            ("null-model", """{"instanceId":"null-model","host":"h","replicas":1,"models":[null]}"""),
            ("null-name", """{"instanceId":"null-name","host":"h","replicas":1,"models":[{"name":null,"state":"Ready"}]}"""),
            ("null-placed", """{"instanceId":"null-placed","host":"h","replicas":1,"models":[],"placedModels":[null]}"""),
            ("null-host", """{"instanceId":"null-host","host":null,"replicas":1,"models":[]}"""),
            ("new-state", """{"instanceId":"new-state","host":"h","replicas":1,"models":[{"name":"tenant-1","state":"Hibernating"}]}"""),
            ("wrong-type", """{"instanceId":"wrong-type","host":"h","replicas":"two","models":[]}"""),
        ];
        await using ConnectionMultiplexer admin = await ConnectionMultiplexer.ConnectAsync(redis.Server.Configuration);
        IDatabase db = admin.GetDatabase();
        foreach ((string id, string json) in hostile)
        {
            await db.StringSetAsync(keys.Member(id), json);
            await db.SetAddAsync(keys.Members, id);
        }

        await host.RoundAsync();

        FleetMember member = Assert.Single((await host.Fleet.GetStatusAsync()).Members);
        Assert.Equal(host.InstanceId, member.InstanceId);
        Assert.Equal([host.InstanceId], host.Placement.View!.Members);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal($"{PlacedFleet.Name(i)} v1", await host.GetAsync(PlacedFleet.Name(i))); // it owns every name
        }
    }
}
