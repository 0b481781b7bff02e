// Lazy, eager and expiring policies side by side on a real ML.NET model (taxi-fare.zip), and an ONNX model
// (breast-cancer-multiclass.onnx) served by ONNX Runtime in the same host, in a plain ServiceCollection:
// no ASP.NET Core, no generic host. Run: dotnet run --project samples/ModelCaching.Samples.Console
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using ModelCaching;
using ModelCaching.Onnx;
using ModelCaching.Samples.Console;

const int HitCalls = 1_000_000;
TimeSpan timeToLive = TimeSpan.FromSeconds(2);
TimeSpan idleTimeout = TimeSpan.FromSeconds(3);
string modelPath = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "Models", "taxi-fare.zip");
string[] names = ["lazy", "eager", "ttl", "idle"];

// The ONNX model is served from a copy in a temp folder, so that section 5 can put a bad file in its place.
string onnxFolder = Directory.CreateTempSubdirectory("modelcaching-sample-").FullName;
string onnxPath = Path.Combine(onnxFolder, "breast-cancer.onnx");
File.Copy(Path.Combine(AppContext.BaseDirectory, "Models", "breast-cancer-multiclass.onnx"), onnxPath);

var mlContext = new MLContext(seed: 1);
ValueTask<ITransformer> LoadTaxiModel(ModelArtifact artifact, CancellationToken cancellationToken)
{
    using Stream stream = artifact.OpenRead();
    return ValueTask.FromResult(mlContext.Model.Load(stream, out _));
}

var services = new ServiceCollection();
services.AddLogging(logging => logging
    .AddSimpleConsole(console =>
    {
        console.SingleLine = true;
        console.TimestampFormat = "HH:mm:ss.fff ";
    })
    .SetMinimumLevel(LogLevel.Information)
    .AddFilter("ModelCaching", LogLevel.Debug));
services.AddModelCache()
    .AddHostedStartup() // ModelCaching.Hosting: eager models load when the hosted services start
    .AddModel<ITransformer>("lazy", model => model.FromFile(modelPath).UseLoader(LoadTaxiModel).Lazy())
    .AddModel<ITransformer>("eager", model => model.FromFile(modelPath).UseLoader(LoadTaxiModel).Eager(waitForStartup: true))
    // Two expiring models: one with a time-to-live (refreshed ahead of expiry), one with an idle timeout.
    .AddModel<ITransformer>("ttl", model => model.FromFile(modelPath).UseLoader(LoadTaxiModel).Expiring(timeToLive: timeToLive))
    .AddModel<ITransformer>("idle", model => model.FromFile(modelPath).UseLoader(LoadTaxiModel).Expiring(idleTimeout: idleTimeout))
    // An ONNX model in the same cache: one shared InferenceSession per generation, checked and warmed up before it serves.
    .AddModel<OnnxModel>("breast-cancer", model => model
        .FromFile(onnxPath)
        .UseOnnxRuntime(onnx =>
        {
            onnx.IntraOpThreads = 1;
            onnx.Outputs.Add("PredictedLabel.onnx");
            onnx.Outputs.Add("Score.onnx");
        })
        .Eager(waitForStartup: true));

await using ServiceProvider provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
IModelCacheProvider caches = provider.GetRequiredService<IModelCacheProvider>();

// 1. Start-up. Without a generic host nobody starts the hosted services, so start them here: this is where
//    eager models load (and where start-up waits for them, with waitForStartup: true).
Section("1. Start-up (eager models load here)");
long started = Stopwatch.GetTimestamp();
IHostedService[] hostedServices = [.. provider.GetServices<IHostedService>()];
foreach (IHostedService hosted in hostedServices)
{
    await hosted.StartAsync(CancellationToken.None);
}

Console.WriteLine($"start-up took {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms");
PrintStates();

// 2. The first call to each model: the lazy and expiring models load now (a miss), the eager one is a hit.
Section("2. First call (lazy and expiring models load now; eager is already loaded)");
var trip = new TaxiTrip { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" };
foreach (string name in names)
{
    IModelCache<ITransformer> cache = caches.GetCache<ITransformer>(name);
    long before = Stopwatch.GetTimestamp();
    ITransformer model = await cache.GetModelAsync();
    double firstCallMs = Stopwatch.GetElapsedTime(before).TotalMilliseconds;
    using PredictionEngine<TaxiTrip, TaxiFarePrediction> engine = mlContext.Model.CreatePredictionEngine<TaxiTrip, TaxiFarePrediction>(model);
    float fare = engine.Predict(trip).FareAmount;
    Console.WriteLine($"{name,-9} first GetModelAsync {firstCallMs,8:F2} ms   predicted fare {fare:F4}   {Describe(cache)}");
}

// 3. The hot path: once loaded, every policy serves GetModel() from memory without a lock or an allocation.
Section($"3. Hot path ({HitCalls:N0} GetModel() calls each; a rough Stopwatch timing, docs/benchmarks.md has BenchmarkDotNet's)");
foreach (string name in names)
{
    IModelCache<ITransformer> cache = caches.GetCache<ITransformer>(name);
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    long before = Stopwatch.GetTimestamp();
    CallGetModel(cache, HitCalls);

    double nanoseconds = Stopwatch.GetElapsedTime(before).TotalNanoseconds / HitCalls;
    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    Console.WriteLine($"{name,-9} {nanoseconds,6:F1} ns per hit, {allocated} bytes allocated   {Describe(cache)}");
}

// 4. Expiring: the ttl model reloads in the background at 80% of its time-to-live (the file is unchanged, so
//    nothing is swapped and it never stops serving); the idle model, unused for longer than its idle timeout,
//    is unloaded to free memory, and its next call loads it again.
Section($"4. Expiring models: ttl refreshes ahead at 80% of {timeToLive.TotalSeconds:F0} s; idle unloads after {idleTimeout.TotalSeconds:F0} s unused");
IModelCache<ITransformer> ttl = caches.GetCache<ITransformer>("ttl");
IModelCache<ITransformer> idle = caches.GetCache<ITransformer>("idle");
await WaitUntilAsync(() => HasRefreshedAhead(ttl), timeToLive * 3);
await WaitUntilAsync(() => idle.State == ModelCacheState.Unloaded, idleTimeout * 3);
foreach (IModelCache<ITransformer> cache in (IModelCache<ITransformer>[])[ttl, idle])
{
    Console.WriteLine($"{cache.Name,-9} is now {cache.State}; its load history:");
    foreach (ModelLoadRecord record in cache.GetHistory())
    {
        Console.WriteLine($"          {record.At:HH:mm:ss.fff}  {record.Reason,-12} {record.Outcome,-9} {record.VersionId?[..12]}");
    }
}

long reloadStarted = Stopwatch.GetTimestamp();
await idle.GetModelAsync();
Console.WriteLine($"idle      next call loaded it again in {Stopwatch.GetElapsedTime(reloadStarted).TotalMilliseconds:F2} ms   {Describe(idle)}");

// 5. The ONNX model: typed runs on pooled, pinned buffers under a lease; a bad file is rejected and the last
//    good session keeps serving.
Section("5. ONNX Runtime model in the same host (breast-cancer-multiclass.onnx)");
IModelCache<OnnxModel> onnxCache = caches.GetCache<OnnxModel>("breast-cancer");
OnnxModel onnxModel = await onnxCache.GetModelAsync();
Console.WriteLine($"inputs:  {string.Join(", ", onnxModel.Signature.Inputs)}");
Console.WriteLine($"outputs: {string.Join(", ", onnxModel.Signature.Outputs)}");
Console.WriteLine($"estimated size {onnxModel.EstimatedSizeBytes:N0} bytes   {Describe(onnxCache)}");
float[] features = [5f, 1f, 1f, 1f, 2f, 1f, 3f, 1f];
PrintOnnxPrediction(onnxCache, features);

File.Copy(modelPath, onnxPath, overwrite: true); // an ML.NET zip where the ONNX file was
try
{
    await onnxCache.ReloadAsync();
}
catch (ModelLoadException ex)
{
    Console.WriteLine($"reload rejected: {ex.Message[..Math.Min(ex.Message.Length, 160)]}...");
}

Console.WriteLine($"still serving: {Describe(onnxCache)}");
PrintOnnxPrediction(onnxCache, features);

Section("Summary");
PrintStates();
Console.WriteLine($"{"breast-cancer",-9} {Describe(onnxCache)}");
foreach (IHostedService hosted in hostedServices)
{
    await hosted.StopAsync(CancellationToken.None);
}

Directory.Delete(onnxFolder, recursive: true);
return;

static void PrintOnnxPrediction(IModelCache<OnnxModel> cache, float[] features)
{
    using OnnxInference inference = cache.Rent();
    inference.SetString("Label", "0");
    features.CopyTo(inference.Input<float>("Features"));
    inference.Run();
    ReadOnlySpan<float> scores = inference.Output<float>("Score.onnx");
    Console.WriteLine($"predicted label {inference.Output<uint>("PredictedLabel.onnx")[0]}, first scores {scores[0]:F4} {scores[1]:F4} {scores[2]:F4} (generation {inference.Version.Generation})");
}

// Fully optimized from the first call: under tiered JIT the first model measured would run on unoptimized
// code for a while and look slower than the others for no reason of its policy.
[MethodImpl(MethodImplOptions.AggressiveOptimization)]
static void CallGetModel(IModelCache<ITransformer> cache, int calls)
{
    for (int i = 0; i < calls; i++)
    {
        _ = cache.GetModel();
    }
}

void Section(string title) => Console.WriteLine($"{Environment.NewLine}== {title} ==");

void PrintStates()
{
    foreach (string name in names)
    {
        Console.WriteLine($"{name,-9} {Describe(caches.GetCache(name))}");
    }
}

static string Describe(IModelCache cache)
{
    ModelCacheStatistics statistics = cache.GetStatistics();
    string version = statistics.Version is { } v ? $"version {v.Id[..12]} gen {v.Generation}" : "no version";
    return $"[{statistics.State,-9} {version}; hits {statistics.Hits:N0}, misses {statistics.Misses}, loads {statistics.Loads}, unloads {statistics.Unloads}]";
}

static bool HasRefreshedAhead(IModelCache cache)
{
    foreach (ModelLoadRecord record in cache.GetHistory())
    {
        if (record.Reason == ModelLoadReason.RefreshAhead)
        {
            return true;
        }
    }

    return false;
}

// The caches' timers do the work; the sample only watches from outside, for at most `limit`.
static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit)
{
    using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
    long started = Stopwatch.GetTimestamp();
    while (!condition())
    {
        if (Stopwatch.GetElapsedTime(started) > limit)
        {
            throw new TimeoutException($"Waited {limit.TotalSeconds:F0} s for the expiring models; their timers did not fire.");
        }

        await ticks.WaitForNextTickAsync();
    }
}
