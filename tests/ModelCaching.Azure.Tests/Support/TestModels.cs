using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.Azure.Tests.Support;

/// <summary>The real models of tests/Shared/TestModels (README there), and the inputs and outputs their README gives.</summary>
public static class TestModels
{
    public static string TaxiFarePath => Path.Combine(AppContext.BaseDirectory, "TestModels", "taxi-fare.zip");

    public static string IrisPath => Path.Combine(AppContext.BaseDirectory, "TestModels", "iris.zip");

    public static byte[] TaxiFare => File.ReadAllBytes(TaxiFarePath);

    public static byte[] Iris => File.ReadAllBytes(IrisPath);

    public const string TaxiFareSha256 = "298fde2c1a7ba0b558ea2dd372b52317ac799ad4140926eaf6e32cb8d3475b0b";

    public const string IrisSha256 = "35d0da9dd368fb304ba62e8aaa4fda2bf1b955d2a8994cd851b2601621919bf2";

    public static readonly TaxiTrip Trip = new() { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" };

    public const float TripFare = 15.5708f;

    public static readonly MLContext Context = new(seed: 1);

    /// <summary>
    /// taxi-fare.zip with its zip comment set to <paramref name="label"/>: different bytes (so a new SHA-256 and a reload),
    /// the same model (ML.NET reads the entries, not the comment), so every prediction still gives <see cref="TripFare"/>.
    /// </summary>
    public static byte[] TaxiFareVariant(string label)
    {
        using var buffer = new MemoryStream();
        buffer.Write(TaxiFare);
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Update, leaveOpen: true))
        {
            zip.Comment = label;
        }

        return buffer.ToArray();
    }

    public static float PredictFare(ITransformer model)
    {
        using PredictionEngine<TaxiTrip, TaxiFarePrediction> engine = Context.Model.CreatePredictionEngine<TaxiTrip, TaxiFarePrediction>(model);
        return engine.Predict(Trip).FareAmount;
    }
}

public class TaxiTrip
{
    public string VendorId = "";
    public string RateCode = "";
    public float PassengerCount;
    public float TripTime;
    public float TripDistance;
    public string PaymentType = "";
    public float FareAmount;
}

public class TaxiFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount;
}
