namespace ModelCaching.ML;

/// <summary>Records that a model has a prediction pool for one pair of types, so lookups can list the known names.</summary>
internal sealed record PredictionPoolRegistration(string ModelName, Type DataType, Type PredictionType);
