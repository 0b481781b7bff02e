namespace ModelCaching.ML.Compatibility;

/// <summary>Records a model name configured through the builder, so a mistyped name can list the known ones.</summary>
internal sealed record PoolModelRegistration(Type DataType, Type PredictionType, string ModelName);
