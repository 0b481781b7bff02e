namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary>
/// The body of <c>POST /predict</c>. Every property is nullable so that a missing field can be told apart
/// from a zero and reported by name.
/// </summary>
public sealed class FareRequest
{
    /// <summary>The taxi company, such as <c>VTS</c>. Required.</summary>
    public string? VendorId { get; set; }

    /// <summary>The rate code, such as <c>1</c>. Required.</summary>
    public string? RateCode { get; set; }

    /// <summary>Passengers on the trip (0 or more). Required.</summary>
    public float? PassengerCount { get; set; }

    /// <summary>Trip time in seconds (0 or more). Required.</summary>
    public float? TripTime { get; set; }

    /// <summary>Trip distance in miles (0 or more). Required.</summary>
    public float? TripDistance { get; set; }

    /// <summary>How the fare is paid, such as <c>CRD</c>. Required.</summary>
    public string? PaymentType { get; set; }

    /// <summary>Returns the problems with this request by JSON field name; empty when it is complete.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        RequireText(errors, "vendorId", VendorId);
        RequireText(errors, "rateCode", RateCode);
        RequireNonNegative(errors, "passengerCount", PassengerCount);
        RequireNonNegative(errors, "tripTime", TripTime);
        RequireNonNegative(errors, "tripDistance", TripDistance);
        RequireText(errors, "paymentType", PaymentType);
        return errors;
    }

    /// <summary>The model's input for this request; call only when <see cref="Validate"/> found no problem.</summary>
    public TaxiTrip ToTaxiTrip() => new()
    {
        VendorId = VendorId!,
        RateCode = RateCode!,
        PassengerCount = PassengerCount!.Value,
        TripTime = TripTime!.Value,
        TripDistance = TripDistance!.Value,
        PaymentType = PaymentType!,
    };

    private static void RequireText(Dictionary<string, string[]> errors, string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors[field] = [$"The field '{field}' is required (a non-empty string)."];
        }
    }

    private static void RequireNonNegative(Dictionary<string, string[]> errors, string field, float? value)
    {
        if (value is null)
        {
            errors[field] = [$"The field '{field}' is required (a number)."];
        }
        else if (!float.IsFinite(value.Value) || value.Value < 0)
        {
            errors[field] = [$"The field '{field}' must be a finite number of 0 or more (was {value.Value})."];
        }
    }
}
