using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelCaching.Fleet;
using ModelCaching.Redis.Tests.Support;

namespace ModelCaching.Benchmarks.Fleet;

/// <summary>
/// Issue 19's "publish → whole fleet serving", on loopback in real time. Starts <c>redis-server</c> on a free 127.0.0.1
/// port, then for each instance count N builds N instances in this process (separate service providers, each
/// <c>AddModelCache().AddModel(…).AddRedisFleet(…)</c> with <c>LoadJitter = 0</c>, a small text model loaded first from a
/// local file) and a publisher without models (as a CI job is). It publishes one unmeasured warm-up version, then K
/// versions one after another, each once the whole fleet serves the one before. For each publish it takes the
/// <see cref="Stopwatch"/> time from <c>PublishAsync</c>'s return to each instance's <c>Reloaded</c> event for that version
/// (a negative time: the instance served it before the publisher's reply arrived), and the time to the last instance.
/// Prints p50, p99 and max across all (instance, publish) pairs and of the whole fleet per publish (nearest rank: with
/// fewer than 100 values, p99 is the maximum).
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- --harness fleet-publish [instance counts, e.g. 3,20] [publishes]</c>
/// </summary>
public sealed class FleetPublishHarness : IHarness
{
    private const string ModelName = "greeting";
    private static readonly TimeSpan FleetBound = TimeSpan.FromSeconds(30);

    public string Name => "fleet-publish";

    public async Task<int> RunAsync(string[] args)
    {
        int[] counts = args.Length > 0 ? [.. args[0].Split(',').Select(static c => int.Parse(c, CultureInfo.InvariantCulture))] : [3, 20];
        int publishes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        if (counts.Any(static c => c < 1) || publishes < 1)
        {
            Console.WriteLine("usage: --harness fleet-publish [instance counts ≥ 1, comma-separated] [publishes ≥ 1]");
            return 1;
        }

        Console.WriteLine($"fleet-publish: instances {string.Join(", ", counts)}, {publishes} publishes each (after 1 warm-up), {Environment.ProcessorCount} cores, load average {LoadAverage()}");

        await using RedisServer redis = await RedisServer.StartAsync();
        string directory = Directory.CreateTempSubdirectory("fleet-publish").FullName;
        var rows = new List<string>();
        try
        {
            string file = Path.Combine(directory, "greeting.txt");
            await File.WriteAllTextAsync(file, "hello from the local file");
            foreach (int count in counts)
            {
                rows.Add(await MeasureAsync(redis.Configuration, file, count, publishes));
            }
        }
        catch (TimeoutException ex)
        {
            Console.WriteLine("FAILED: " + ex.Message);
            return 1;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine("| instances | publishes | pairs | per instance p50 | p99 | max | min | whole fleet p50 | p99 | max | PublishAsync p50 |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine($"load average at the end: {LoadAverage()}");
        return 0;
    }

    private static async Task<string> MeasureAsync(string configuration, string file, int count, int publishes)
    {
        string fleetName = "bench-" + Guid.NewGuid().ToString("N")[..12];
        var instances = new List<Instance>();
        await using ServiceProvider publisher = Publisher(configuration, fleetName);
        try
        {
            for (int i = 0; i < count; i++)
            {
                instances.Add(await Instance.StartAsync(configuration, fleetName, $"instance-{i}", file));
            }

            IModelFleet fleet = publisher.GetRequiredService<IModelFleet>();
            var perInstance = new List<double>();
            var wholeFleet = new List<double>();
            var publishCall = new List<double>();
            for (int k = 0; k <= publishes; k++)
            {
                string versionId = $"v{k}";
                var round = new Round(versionId, count);
                instances.ForEach(instance => instance.Round = round);
                long called = Stopwatch.GetTimestamp();
                await fleet.PublishAsync(ModelName, Encoding.UTF8.GetBytes($"hello {versionId} {fleetName}"), new FleetPublishOptions { VersionId = versionId });
                long returned = Stopwatch.GetTimestamp();
                if (!await round.AllServed.WaitAsync(FleetBound).ContinueWith(static t => t.IsCompletedSuccessfully, TaskScheduler.Default))
                {
                    throw new TimeoutException($"{round.Remaining} of {count} instances did not serve {versionId} within {FleetBound}");
                }

                if (k == 0)
                {
                    continue; // warm-up: the first publish JITs the publish, fetch and load paths
                }

                double[] times = [.. round.ServedAt.Select(t => Stopwatch.GetElapsedTime(returned, t).TotalMilliseconds)];
                perInstance.AddRange(times);
                wholeFleet.Add(times.Max());
                publishCall.Add(Stopwatch.GetElapsedTime(called, returned).TotalMilliseconds);
            }

            perInstance.Sort();
            wholeFleet.Sort();
            publishCall.Sort();
            return string.Create(CultureInfo.InvariantCulture,
                $"| {count} | {publishes} | {perInstance.Count} | {Ms(Percentile(perInstance, 0.50))} | {Ms(Percentile(perInstance, 0.99))} | {Ms(perInstance[^1])} | {Ms(perInstance[0])} | " +
                $"{Ms(Percentile(wholeFleet, 0.50))} | {Ms(Percentile(wholeFleet, 0.99))} | {Ms(wholeFleet[^1])} | {Ms(Percentile(publishCall, 0.50))} |");
        }
        finally
        {
            foreach (Instance instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    private static ServiceProvider Publisher(string configuration, string fleetName)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddModelCache().AddRedisFleet(o =>
        {
            o.Configuration = configuration;
            o.FleetName = fleetName;
        });
        return services.BuildServiceProvider();
    }

    // Nearest rank on a sorted list.
    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Ms(double milliseconds) => string.Create(CultureInfo.InvariantCulture, $"{milliseconds:F1} ms");

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>One publish: the version waited for and when each instance started serving it.</summary>
    private sealed class Round(string versionId, int count)
    {
        private readonly TaskCompletionSource _allServed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining = count;

        public string VersionId { get; } = versionId;

        public long[] ServedAt { get; } = new long[count];

        public Task AllServed => _allServed.Task;

        public int Remaining => Volatile.Read(ref _remaining);

        public void Served(int instance, long timestamp)
        {
            if (Interlocked.CompareExchange(ref ServedAt[instance], timestamp, 0) == 0 && Interlocked.Decrement(ref _remaining) == 0)
            {
                _allServed.TrySetResult();
            }
        }
    }

    /// <summary>One instance of the fleet: its own service provider (as a pod has), its hosted services started as a host would.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly IHostedService[] _hosted;
        private readonly int _slot;

        private Instance(ServiceProvider provider, int slot)
        {
            _provider = provider;
            _slot = slot;
            _hosted = [.. provider.GetServices<IHostedService>()];
            IModelCache<string> cache = provider.GetRequiredKeyedService<IModelCache<string>>(ModelName);
            cache.Reloaded += (_, e) =>
            {
                long now = Stopwatch.GetTimestamp();
                if (Round is { } round && e.Current.ETag == round.VersionId)
                {
                    round.Served(_slot, now);
                }
            };
            Cache = cache;
        }

        public IModelCache<string> Cache { get; }

        public Round? Round
        {
            get => Volatile.Read(ref field);
            set => Volatile.Write(ref field, value);
        }

        public static async Task<Instance> StartAsync(string configuration, string fleetName, string instanceId, string file)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddModelCache()
                .AddModel<string>(ModelName, model => model
                    .FromFile(file)
                    .UseLoader((artifact, _) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span))))
                .AddRedisFleet(o =>
                {
                    o.Configuration = configuration;
                    o.FleetName = fleetName;
                    o.InstanceId = instanceId;
                    o.LoadJitter = TimeSpan.Zero;
                });
            int slot = int.Parse(instanceId.AsSpan("instance-".Length), CultureInfo.InvariantCulture);
            var instance = new Instance(services.BuildServiceProvider(), slot);
            foreach (IHostedService hosted in instance._hosted)
            {
                await hosted.StartAsync(CancellationToken.None);
            }

            await instance.Cache.GetModelAsync();
            return instance;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (IHostedService hosted in _hosted.Reverse())
            {
                await hosted.StopAsync(CancellationToken.None);
            }

            await _provider.DisposeAsync();
        }
    }
}
