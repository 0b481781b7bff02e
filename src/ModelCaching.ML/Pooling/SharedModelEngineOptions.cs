using Microsoft.ML;

namespace ModelCaching.ML;

/// <summary>
/// The <see cref="PredictionEngineOptions"/> of every engine the library creates: the user's options with
/// <see cref="PredictionEngineOptions.OwnsTransformer"/> off. An engine that owns its transformer disposes the
/// model's disposable parts (an ONNX session, a TensorFlow graph) when it is disposed, which would break the
/// model under every other engine of its generation. The model is disposed once, by its generation, after its
/// last lease.
/// </summary>
internal static class SharedModelEngineOptions
{
    /// <summary>A copy of <paramref name="options"/> (or ML.NET's defaults) whose engines do not own the model.</summary>
    public static PredictionEngineOptions Create(PredictionEngineOptions? options)
    {
        var shared = new PredictionEngineOptions { OwnsTransformer = false };
        if (options is not null)
        {
            shared.IgnoreMissingColumns = options.IgnoreMissingColumns;
            shared.InputSchemaDefinition = options.InputSchemaDefinition;
            shared.OutputSchemaDefinition = options.OutputSchemaDefinition;
        }

        return shared;
    }
}
