using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelCaching.ML;

/// <summary>
/// Checks that <typeparamref name="TData"/> can be read by a model and that its output can be written to
/// <typeparamref name="TPrediction"/>, by names and types, then proves it by creating one prediction engine.
/// </summary>
internal static class PredictionSchemaCheck<TData, TPrediction>
    where TData : class
    where TPrediction : class, new()
{
    public static void Check(MLContext context, ITransformer model, string modelName, PredictionEngineOptions? engineOptions)
    {
        string pair = $"{typeof(TData).Name} → {typeof(TPrediction).Name}";
        SchemaDefinition inputDefinition = engineOptions?.InputSchemaDefinition ?? SchemaDefinition.Create(typeof(TData), SchemaDefinition.Direction.Read);
        SchemaDefinition outputDefinition = engineOptions?.OutputSchemaDefinition ?? SchemaDefinition.Create(typeof(TPrediction), SchemaDefinition.Direction.Write);

        DataViewSchema input = context.Data.LoadFromEnumerable(Array.Empty<TData>(), inputDefinition).Schema;
        DataViewSchema output;
        try
        {
            output = model.GetOutputSchema(input);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelSchemaException(
                $"Model '{modelName}' cannot read {typeof(TData).FullName} ({pair}): {ex.Message}",
                ColumnFrom(ex.Message), modelType: null, clrType: null, ex);
        }

        foreach (SchemaDefinition.Column column in outputDefinition)
        {
            string member = $"{typeof(TPrediction).Name}.{column.MemberName}";
            if (output.GetColumnOrNull(column.ColumnName) is not { } produced)
            {
                string available = string.Join(", ", output.Where(static c => !c.IsHidden).Select(static c => $"{c.Name}:{c.Type}"));
                throw new ModelSchemaException(
                    $"Model '{modelName}' does not fit {pair}: its output has no column '{column.ColumnName}' for {member} ({column.ColumnType.RawType.FullName}). The model's output columns: {available}.",
                    column.ColumnName, modelType: null, column.ColumnType.RawType.FullName);
            }

            if (!Fits(produced.Type, column.ColumnType))
            {
                throw new ModelSchemaException(
                    $"Model '{modelName}' does not fit {pair}: output column '{column.ColumnName}' is {produced.Type} in the model, but {member} is {Describe(column)}.",
                    column.ColumnName, produced.Type.ToString(), Describe(column));
            }
        }

        // ML.NET has the last word (key types, custom mappings, annotations): one engine proves the binding.
        try
        {
            // Not owning the model: disposing the probe must not dispose the candidate's parts (an ONNX session).
            using PredictionEngine<TData, TPrediction> engine = context.Model.CreatePredictionEngine<TData, TPrediction>(model, SharedModelEngineOptions.Create(engineOptions));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new ModelSchemaException($"Model '{modelName}' does not fit {pair}: {ex.Message}", ColumnFrom(ex.Message), modelType: null, clrType: null, ex);
        }
    }

    private static bool Fits(DataViewType produced, DataViewType wanted)
    {
        if (produced.Equals(wanted))
        {
            return true;
        }

        if (produced is VectorDataViewType producedVector && wanted is VectorDataViewType wantedVector)
        {
            // A C# array takes a vector of any length; a [VectorType(n)] member must match it.
            return producedVector.ItemType.RawType == wantedVector.ItemType.RawType
                && (wantedVector.Size == 0 || wantedVector.Size == producedVector.Size);
        }

        // Key columns bind to their raw integer type.
        return produced is KeyDataViewType && produced.RawType == wanted.RawType;
    }

    private static string Describe(SchemaDefinition.Column column) => column.ColumnType is VectorDataViewType vector
        ? $"{vector.ItemType.RawType.FullName}[]"
        : column.ColumnType.RawType.FullName!;

    private static string? ColumnFrom(string message)
    {
        int start = message.IndexOf('\'');
        int end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
        return end > start ? message[(start + 1)..end] : null;
    }
}
