using Microsoft.ML.Data;

namespace ModelCaching.Samples.WebApi.Prediction;

/// <summary>The output of taxi-fare.zip: its <c>Score:Single</c> column is the predicted fare.</summary>
public sealed class TaxiFarePrediction
{
    /// <summary>The predicted fare in dollars.</summary>
    [ColumnName("Score")]
    public float FareAmount { get; set; }
}
