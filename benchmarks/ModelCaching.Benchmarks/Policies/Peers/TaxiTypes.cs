using Microsoft.ML.Data;

namespace ModelCaching.Benchmarks.Policies.Peers;

/// <summary>taxi-fare.zip's input row (TestModels/README.md).</summary>
public sealed class TaxiTrip
{
    public string VendorId = "";
    public string RateCode = "";
    public float PassengerCount;
    public float TripTime;
    public float TripDistance;
    public string PaymentType = "";
    public float FareAmount;
}

/// <summary>taxi-fare.zip's output.</summary>
public sealed class TaxiFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount;
}
