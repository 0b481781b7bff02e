using Microsoft.ML.Data;

namespace ModelCaching.AspNetCore.Tests.Support;

/// <summary>The taxi-fare model of tests/Shared/TestModels and its input and output types.</summary>
public sealed class TaxiTrip
{
    public string VendorId { get; set; } = "";

    public string RateCode { get; set; } = "";

    public float PassengerCount { get; set; }

    public float TripTime { get; set; }

    public float TripDistance { get; set; }

    public string PaymentType { get; set; } = "";

    public float FareAmount { get; set; }

    public static TaxiTrip Sample => new() { VendorId = "VTS", RateCode = "1", PassengerCount = 1, TripTime = 1140, TripDistance = 3.75f, PaymentType = "CRD" };
}

public sealed class TaxiFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount { get; set; }
}

internal static class TaxiFareModel
{
    public const float SampleFare = 15.5708f;

    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "TestModels");

    public static string FilePath { get; } = Path.Combine(Directory, "taxi-fare.zip");
}
