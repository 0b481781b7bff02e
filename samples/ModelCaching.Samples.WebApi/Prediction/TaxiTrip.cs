namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary>
/// The input of taxi-fare.zip, bound to its columns by name: <c>VendorId:String, RateCode:String,
/// PassengerCount:Single, TripTime:Single, TripDistance:Single, PaymentType:String, FareAmount:Single</c>.
/// </summary>
public sealed class TaxiTrip
{
    /// <summary>The taxi company (<c>VTS</c>, <c>CMT</c>).</summary>
    public string VendorId { get; set; } = "";

    /// <summary>The rate code (<c>1</c> standard, <c>2</c> JFK, …), as text.</summary>
    public string RateCode { get; set; } = "";

    /// <summary>Passengers on the trip.</summary>
    public float PassengerCount { get; set; }

    /// <summary>Trip time in seconds.</summary>
    public float TripTime { get; set; }

    /// <summary>Trip distance in miles.</summary>
    public float TripDistance { get; set; }

    /// <summary>How the fare was paid (<c>CRD</c>, <c>CSH</c>).</summary>
    public string PaymentType { get; set; } = "";

    /// <summary>The label column the model was trained on; not used when predicting.</summary>
    public float FareAmount { get; set; }
}
