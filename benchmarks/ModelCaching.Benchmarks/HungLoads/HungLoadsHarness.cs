using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching.Benchmarks.HungLoads;

/// <summary>
/// Issue 17's hung loads, in real time: what a load step that ignores its token keeps after its load timeout.
/// <list type="bullet">
/// <item>memory: a budget of 100 B, a 60 B model whose loader sleeps 8 s (LoadTimeout 1 s), then a second 60 B model
/// asked for right after the timeout (retried every 100 ms while it fails): the time until it loads;</item>
/// <item>slots: MaxConcurrentLoads 2, two models whose validators never return (LoadTimeout 1 s), then a third model:
/// the time until it loads (given up after 5 s).</item>
/// </list>
/// <c>dotnet run -c Release --project benchmarks/ModelCaching.Benchmarks -- --harness hung-loads [rounds]</c>
/// </summary>
public sealed class HungLoadsHarness : IHarness
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan GiveUp = TimeSpan.FromSeconds(15);

    public string Name => "hung-loads";

    public async Task<int> RunAsync(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 3;
        string directory = Directory.CreateTempSubdirectory("hung-loads").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "a.bin"), new string('a', 60));
            File.WriteAllText(Path.Combine(directory, "b.bin"), new string('b', 60));
            Console.WriteLine("| round | reserved after a's timeout | b loads after a's timeout | b's failures first | third model loads after the hung ones' timeout |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            for (int round = 1; round <= rounds; round++)
            {
                (long reserved, TimeSpan bLoaded, int failures) = await HungLoaderAndBudgetAsync(directory);
                string third = await HungValidatorsAndSlotsAsync(directory);
                Console.WriteLine($"| {round} | {reserved} B | {bLoaded.TotalMilliseconds:F0} ms | {failures} | {third} |");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        return 0;
    }

    private static async Task<(long Reserved, TimeSpan BLoaded, int Failures)> HungLoaderAndBudgetAsync(string directory)
    {
        using var release = new ManualResetEventSlim();
        var services = new ServiceCollection();
        services.AddModelCache(o => o.MaxConcurrentLoads = 4).AddModelTemplate<Model>(
            "tenants",
            t => t.FromFile(Path.Combine(directory, "{name}.bin"))
                .UseLoader((artifact, _) =>
                {
                    string text = Encoding.UTF8.GetString(artifact.Content.Span);
                    if (text.StartsWith('a'))
                    {
                        release.Wait(TimeSpan.FromSeconds(8)); // ignores its token
                    }

                    return ValueTask.FromResult(new Model(text));
                })
                .Configure(o =>
                {
                    o.LoadTimeout = LoadTimeout;
                    o.DrainDelay = TimeSpan.Zero;
                }),
            o => o.MemoryBudgetBytes = 100);
        await using ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();
        try
        {
            await caches.GetCache<Model>("a").GetModelAsync();
        }
        catch (ModelLoadException)
        {
        }

        long reserved = caches.GetMemoryBudgets()[0].ReservedBytes;
        var watch = Stopwatch.StartNew();
        int failures = 0;
        while (watch.Elapsed < GiveUp)
        {
            try
            {
                await caches.GetCache<Model>("b").GetModelAsync();
                break;
            }
            catch (ModelLoadException)
            {
                failures++;
                await Task.Delay(100);
            }
        }

        TimeSpan loaded = watch.Elapsed;
        release.Set();
        return (reserved, loaded, failures);
    }

    private static async Task<string> HungValidatorsAndSlotsAsync(string directory)
    {
        using var release = new ManualResetEventSlim();
        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache(o => o.MaxConcurrentLoads = 2);
        foreach (string name in (string[])["hung1", "hung2"])
        {
            builder.AddModel<Model>(name, m => m
                .FromFile(Path.Combine(directory, "a.bin"))
                .UseLoader((_, _) => ValueTask.FromResult(new Model(name)))
                .Validate((_, _) =>
                {
                    release.Wait(GiveUp); // never returns within the measurement
                    return ValueTask.CompletedTask;
                })
                .Configure(o => o.LoadTimeout = LoadTimeout));
        }

        builder.AddModel<Model>("third", m => m
            .FromFile(Path.Combine(directory, "b.bin"))
            .UseLoader((_, _) => ValueTask.FromResult(new Model("third")))
            .Configure(o => o.LoadTimeout = LoadTimeout));
        ServiceProvider provider = services.BuildServiceProvider();
        IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();
        Task<Model>[] hung = [caches.GetCache<Model>("hung1").GetModelAsync().AsTask(), caches.GetCache<Model>("hung2").GetModelAsync().AsTask()];
        foreach (Task<Model> call in hung)
        {
            try
            {
                await call;
            }
            catch (ModelLoadException)
            {
            }
        }

        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            await caches.GetCache<Model>("third").GetModelAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            outcome = $"{watch.Elapsed.TotalMilliseconds:F0} ms";
        }
        catch (TimeoutException)
        {
            outcome = "not within 5 s";
        }

        // Released before disposal: how long shutdown takes with hung callbacks is measured elsewhere.
        release.Set();
        await provider.DisposeAsync();
        return outcome;
    }

    private sealed record Model(string Content);
}
