// Input and output types as in the ML.NET Iris sample.
using Microsoft.ML.Data;

namespace ModelCaching.ML.CompatibilityTests.Samples;

public class IrisData
{
    [LoadColumn(0)]
    public float Label;

    [LoadColumn(1)]
    public float SepalLength;

    [LoadColumn(2)]
    public float SepalWidth;

    [LoadColumn(3)]
    public float PetalLength;

    [LoadColumn(4)]
    public float PetalWidth;
}

public class IrisPrediction
{
    public float[] Score;

    public float PredictedLabel;
}

public class TaxiTrip
{
    public string VendorId;
    public string RateCode;
    public float PassengerCount;
    public float TripTime;
    public float TripDistance;
    public string PaymentType;
    public float FareAmount;
}

public class TaxiTripFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount;
}
