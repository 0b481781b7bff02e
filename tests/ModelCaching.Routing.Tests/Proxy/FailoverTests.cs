using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using ModelCaching.Routing.Tests.Support;
using Xunit.Abstractions;

namespace ModelCaching.Routing.Tests.Proxy;

/// <summary>An owner that fails (killed, or answering 421): the request goes to the other owner, and the client sees no failure.</summary>
public sealed class FailoverTests(RedisServerFixture redis, ITestOutputHelper output) : IClassFixture<RedisServerFixture>
{
    [Fact]
    public async Task AKilledOwner_RequestsGoToTheOtherOwner_WithNoFailedRequest()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("a", "b");
        Assert.StartsWith("a ", (await fleet.Router.PredictAsync(tenant)).Body, StringComparison.Ordinal);

        await fleet["a"].KillAsync(); // its membership entry stays: the router learns only from the failure
        var sinceKill = Stopwatch.StartNew();
        TimeSpan? firstFromB = null;
        int failed = 0;
        for (int i = 0; i < 50; i++)
        {
            (int status, string body) = await fleet.Router.PredictAsync(tenant);
            if (status != 200 || !body.StartsWith("b ", StringComparison.Ordinal))
            {
                failed++;
            }
            else
            {
                firstFromB ??= sinceKill.Elapsed;
            }
        }

        output.WriteLine($"first answer from the other owner {firstFromB?.TotalMilliseconds:F1} ms after the kill; failed {failed} of 50; retries {fleet.Router.Retries.GetMeasurementSnapshot().Sum(m => m.Value)}");
        Assert.Equal(0, failed);

        // One retry (the first request after the kill); after it, a is skipped (YARP's passive health) until reset.
        Assert.Equal(1, fleet.Router.Retries.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == 504);

        // After the reactivation period (YARP resets the passive health on the router's clock) a is tried first again,
        // fails again, and the request still succeeds on b.
        fleet.Router.Time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => fleet.Router.DestinationHealth("a") != Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy, "a's passive health was reset");
        (int again, string againBody) = await fleet.Router.PredictAsync(tenant);
        Assert.Equal(200, again);
        Assert.StartsWith("b ", againBody, StringComparison.Ordinal);
        Assert.Equal(2, fleet.Router.Retries.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy, fleet.Router.DestinationHealth("a"));
    }

    [Fact]
    public async Task AnOwnerAnswering421_IsRetriedOnTheOtherOwner_AndTheMembershipIsReadAtOnce()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("a", "b");
        fleet["a"].Misdirect = true;
        long reads = fleet.Router.Membership.Reads;

        (int status, string body) = await fleet.Router.PredictAsync(tenant);

        Assert.Equal(200, status);
        Assert.StartsWith("b ", body, StringComparison.Ordinal);
        Assert.Equal(1, fleet["a"].Misdirected);
        Assert.Equal("misdirected", Assert.Single(fleet.Router.Retries.GetMeasurementSnapshot()).Tags["modelcache.routing.reason"]);
        await Eventually.TrueAsync(() => fleet.Router.Membership.Reads > reads, "the router read the membership again without its clock moving");
    }

    [Fact]
    public async Task APostBody_IsSentAgainWhole_ToTheNextOwner()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("a", "b");
        fleet["a"].Misdirect = true;
        string payload = new('x', 100_000); // above the 64 KiB kept in memory: buffered to a file

        (int status, string body) = await fleet.Router.PredictAsync(tenant, new StringContent(payload, Encoding.UTF8, new MediaTypeHeaderValue("text/plain")));

        Assert.Equal(200, status);
        Assert.Equal($"b model of tenant-{tenant} {payload}", body);
    }

    [Fact]
    public async Task ABodyLargerThanTheBufferLimit_IsSentOnce_SoTheFirstOwners421ReachesTheClient()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 200, ["a", "b", "c"], o => o.MaxBufferedBodyBytes = 10);
        string tenant = fleet.TenantOwnedBy("a", "b");
        fleet["a"].Misdirect = true;

        (int status, _) = await fleet.Router.PredictAsync(tenant, new StringContent(new string('x', 100)));

        Assert.Equal(421, status);
        Assert.Equal(0, fleet["b"].Requests);
        Assert.Contains(fleet.Router.Logs.GetSnapshot(), r => r.Id.Id == 507);
    }

    [Fact]
    public async Task WithOneAttempt_AKilledOwnersRequestFails_With502()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, 200, ["a", "b", "c"], o => o.MaxAttempts = 1);
        string tenant = fleet.TenantOwnedBy("a", "b");
        await fleet["a"].KillAsync();

        Assert.Equal(502, (await fleet.Router.PredictAsync(tenant)).Status);

        // The failure still marks it: the next request goes to the other owner.
        (int status, string body) = await fleet.Router.PredictAsync(tenant);
        Assert.Equal(200, status);
        Assert.StartsWith("b ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhenEveryOwnerAnswers421_TheClientGetsTheLastOwners421()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 200, "a", "b", "c");
        string tenant = fleet.TenantOwnedBy("a", "b");
        fleet["a"].Misdirect = true;
        fleet["b"].Misdirect = true;

        (int status, string body) = await fleet.Router.PredictAsync(tenant);

        Assert.Equal(421, status);
        Assert.Contains("'b' does not own", body, StringComparison.Ordinal);
        Assert.Equal(0, fleet["c"].Requests);
    }

    [Fact]
    public async Task ManyParallelRequests_WhileAnOwnerIsKilled_AllSucceed_FromOwnersOnly()
    {
        await using RoutedFleet fleet = await RoutedFleet.StartAsync(redis.Server, tenants: 60, "a", "b", "c");
        const int Workers = 8;
        const int PerWorker = 150;
        int failed = 0;
        int notOwner = 0;
        int done = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task Worker(int worker)
        {
            for (int i = 0; i < PerWorker; i++)
            {
                string tenant = RoutedFleet.Tenant((worker * 7 + i) % 60);
                (int status, string body) = await fleet.Router.PredictAsync(tenant);
                if (status != 200 || !body.EndsWith($"model of tenant-{tenant}", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failed);
                }
                else if (!fleet.Owners(tenant).Contains(body.Split(' ')[0]))
                {
                    Interlocked.Increment(ref notOwner);
                }

                if (Interlocked.Increment(ref done) == Workers * PerWorker / 3)
                {
                    killed.TrySetResult();
                }
            }
        }

        Task[] workers = [.. Enumerable.Range(0, Workers).Select(w => Task.Run(() => Worker(w)))];
        await killed.Task.WaitAsync(Eventually.Timeout);
        await fleet["c"].KillAsync();
        await Task.WhenAll(workers).WaitAsync(Eventually.Timeout * 4);

        output.WriteLine($"{Workers * PerWorker} requests, {failed} failed, {notOwner} from a non-owner, {fleet.Router.Retries.GetMeasurementSnapshot().Sum(m => m.Value)} retries after c was killed at request {Workers * PerWorker / 3}");
        Assert.Equal(0, failed);
        Assert.Equal(0, notOwner);
    }
}
