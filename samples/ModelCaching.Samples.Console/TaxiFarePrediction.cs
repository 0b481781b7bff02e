using Microsoft.ML.Data;

namespace ModelCaching.Samples.Console;

/// <summary>The output of taxi-fare.zip: its <c>Score</c> column is the predicted fare.</summary>
public sealed class TaxiFarePrediction
{
    [ColumnName("Score")]
    public float FareAmount { get; set; }
}
