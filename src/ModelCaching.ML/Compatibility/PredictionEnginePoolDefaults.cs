namespace ModelCaching.ML.Compatibility;

/// <summary>Names the compatibility layer gives to what Microsoft.Extensions.ML leaves unnamed.</summary>
internal static class PredictionEnginePoolDefaults
{
    /// <summary>
    /// The name of the default (unnamed) model of a <see cref="PredictionEnginePool{TData, TPrediction}"/> in
    /// <see cref="IModelCacheProvider"/>, health checks, the status and admin endpoints (<c>/models/default</c>),
    /// metrics and logs: <c>default</c>. Named models keep their names.
    /// </summary>
    public const string ModelName = "default";

    /// <summary>The model cache's name for a pool model name.</summary>
    internal static string CacheName(string modelName) => modelName.Length == 0 ? ModelName : modelName;
}
