using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.ML;
using ModelCaching.FleetHarness;
using ModelCaching.Samples.WebApi.Prediction;
using Xunit.Abstractions;

namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// The fleet harness's tenant models and trace (benchmarks/ModelCaching.FleetHarness, linked): a thousand distinct ML.NET
/// models whose fares name their tenant, and a Zipf trace that is the same for the same seed.
/// </summary>
public sealed class TenantModelsTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("modelcaching-tenant-models-").FullName;

    [Fact]
    public void AThousandTenantModels_AreDistinctFiles_AndEachPredictsItsOwnFare_ThroughMLNet()
    {
        var clock = Stopwatch.StartNew();
        long bytes = TenantModels.Write(_directory, 1000, Path.Combine(AppContext.BaseDirectory, "Models", "taxi-fare.zip"));
        output.WriteLine($"1,000 tenant models, {bytes:N0} bytes, in {clock.ElapsedMilliseconds:N0} ms");

        string[] files = Directory.GetFiles(_directory, "tenant-t*.zip");
        Assert.Equal(1000, files.Length);
        Assert.Equal(1000, files.Select(f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))).Distinct().Count());

        var ml = new MLContext(seed: 1);
        var trip = new TaxiTrip { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" };
        foreach (int index in (int[])[0, 1, 2, 99, 500, 777, 998, 999])
        {
            ITransformer model = ml.Model.Load(Path.Combine(_directory, TenantModels.ModelName(index) + ".zip"), out _);
            float fare = ml.Model.CreatePredictionEngine<TaxiTrip, TaxiFarePrediction>(model).Predict(trip).FareAmount;
            Assert.Equal(index, TenantModels.TenantOf(fare));
            Assert.InRange(fare, TenantModels.KnownTripFare(index) - 0.01f, TenantModels.KnownTripFare(index) + 0.01f);
        }
    }

    [Fact]
    public void TenantOf_AFareNoTenantModelGives_IsMinusOne()
    {
        Assert.Equal(-1, TenantModels.TenantOf(TenantModels.KnownTripBaseFare)); // v1 itself
        Assert.Equal(-1, TenantModels.TenantOf(TenantModels.KnownTripFare(3) + 50));
        Assert.Equal(3, TenantModels.TenantOf(TenantModels.KnownTripFare(3)));
    }

    [Fact]
    public void ZipfTrace_TheSameSeedGivesTheSameTrace_AndEachRankTakesItsZipfShare()
    {
        int[] trace = ZipfTrace.Create(1000, 200_000);
        Assert.Equal(trace, ZipfTrace.Create(1000, 200_000));
        Assert.NotEqual(trace, ZipfTrace.Create(1000, 200_000, seed: ZipfTrace.DefaultSeed + 1));
        Assert.All(trace, t => Assert.InRange(t, 0, 999));

        double harmonic = Enumerable.Range(1, 1000).Sum(k => 1.0 / k); // s = 1
        foreach (int rank in (int[])[0, 1, 9, 99])
        {
            double share = trace.Count(t => t == rank) / (double)trace.Length;
            double expected = 1.0 / (rank + 1) / harmonic;
            Assert.InRange(share, expected * 0.85, expected * 1.15);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
