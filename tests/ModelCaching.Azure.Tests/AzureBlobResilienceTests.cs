using System.Diagnostics;
using Xunit.Abstractions;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using ModelCaching.Azure.Tests.Support;
using ModelCaching.ML;

namespace ModelCaching.Azure.Tests;

/// <summary>The emulator killed in the middle of a download, and uploads under prediction load on every core.</summary>
public sealed class AzureBlobResilienceTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task Download_WhenTheEmulatorIsKilledMidway_FailsWithinABound_AndTheLastGoodModelKeepsServing()
    {
        // An emulator of its own: this test kills it.
        await using AzuriteServer server = await AzuriteServer.StartAsync();
        BlobContainerClient container = new BlobServiceClient(server.ConnectionString).GetBlobContainerClient("models");
        await container.CreateAsync();
        BlobClient blob = container.GetBlobClient("taxi.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFare));
        var pause = new PauseAfterHeaders();
        await using ServiceProvider services = BlobModels.Build(server, container, blob.Name, BlobModels.NewClock(), o => o.ClientOptions = BlobModels.FastOptions(pause));
        IModelCache<ITransformer> cache = services.Taxi();
        await cache.GetModelAsync();

        // Larger than the socket buffers hold, so most of the body is still on the emulator's side when it dies.
        byte[] large = new byte[48 * 1024 * 1024];
        Random.Shared.NextBytes(large);
        await blob.UploadAsync(BinaryData.FromBytes(large), overwrite: true);
        pause.Arm();
        Task<ModelVersion> reload = cache.ReloadAsync();
        await pause.Paused.WaitAsync(Eventually.Timeout);
        server.Kill();
        var elapsed = Stopwatch.StartNew();
        pause.Release();

        ModelLoadException failure = await Assert.ThrowsAsync<ModelLoadException>(() => reload.WaitAsync(Eventually.Timeout));
        elapsed.Stop();
        output.WriteLine($"the load failed {elapsed.Elapsed.TotalMilliseconds:F0} ms after the kill: {failure.InnerException?.Message}");

        AzureBlobModelSourceException cause = Assert.IsType<AzureBlobModelSourceException>(failure.InnerException);
        Assert.StartsWith("Model 'taxi': the download of blob 'taxi.zip' in container 'models' of storage account 'devstoreaccount1' broke off", cause.Message, StringComparison.Ordinal);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(20), $"the failure took {elapsed.Elapsed}");
        Assert.Equal(ModelCacheState.Degraded, cache.State);
        Assert.Equal(TestModels.TaxiFareSha256, cache.Version!.Id);
        Assert.Equal(TestModels.TripFare, TestModels.PredictFare(cache.GetModel()), 0.001f);
    }

    [Fact]
    public async Task TwoHundredUploads_DuringPredictionsOnAllCores_FailNoPrediction()
    {
        const int uploads = 200;
        BlobContainerClient container = await azurite.NewContainerAsync();
        BlobClient blob = container.GetBlobClient("models/taxi-fare.zip");
        await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFareVariant("upload 0")));
        FakeTimeProvider clock = BlobModels.NewClock();
        await using ServiceProvider services = BlobModels.Build(azurite.Server, container, blob.Name, clock, more: m => m.WithPredictionPool<TaxiTrip, TaxiFarePrediction>());
        IModelCache<ITransformer> cache = services.Taxi();
        var pool = services.GetRequiredKeyedService<PredictionPool<TaxiTrip, TaxiFarePrediction>>("taxi");
        await cache.GetModelAsync();

        using var stop = new CancellationTokenSource();
        long predictions = 0, failed = 0, wrong = 0;
        Task[] predictors = [.. Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    float fare = pool.Predict(TestModels.Trip).FareAmount;
                    Interlocked.Increment(ref predictions);
                    if (Math.Abs(fare - TestModels.TripFare) > 0.001f)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        }, TaskCreationOptions.LongRunning))];

        for (int upload = 1; upload <= uploads; upload++)
        {
            await blob.UploadAsync(BinaryData.FromBytes(TestModels.TaxiFareVariant($"upload {upload}")), overwrite: true);
            Task<ModelReloadedEventArgs> reloaded = Eventually.NextReload(cache);
            clock.Advance(BlobModels.PollingInterval);
            await reloaded;
        }

        await stop.CancelAsync();
        await Task.WhenAll(predictors).WaitAsync(Eventually.Timeout);
        output.WriteLine($"{uploads} uploads, {predictions} predictions on {Environment.ProcessorCount} threads, {failed} failed, {wrong} wrong");

        Assert.Equal(0, failed);
        Assert.Equal(0, wrong);
        Assert.True(predictions > uploads, $"only {predictions} predictions ran during {uploads} uploads");
        Assert.Equal(uploads + 1, cache.Version!.Generation);
        Assert.Equal(0, cache.GetStatistics().LoadFailures);
    }
}
