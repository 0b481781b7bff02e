namespace ModelCaching.ML;

/// <summary>
/// Thrown when a model's input or output schema does not fit the C# types it is used with: a column is
/// missing, or has another type. A reload that meets it is rejected and the last good model keeps serving.
/// </summary>
public sealed class ModelSchemaException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The full message, naming the model, the column and both types.</param>
    /// <param name="columnName">The column that does not fit, when one is known.</param>
    /// <param name="modelType">The column's type in the model, when it has the column.</param>
    /// <param name="clrType">The C# member's type, when there is one.</param>
    /// <param name="innerException">ML.NET's own error, when there is one.</param>
    public ModelSchemaException(string message, string? columnName, string? modelType, string? clrType, Exception? innerException = null)
        : base(message, innerException)
    {
        ColumnName = columnName;
        ModelColumnType = modelType;
        ClrType = clrType;
    }

    /// <summary>The column that does not fit, when one is known.</summary>
    public string? ColumnName { get; }

    /// <summary>The column's type in the model (such as <c>Single</c> or <c>Vector&lt;Single, 3&gt;</c>), when the model has the column.</summary>
    public string? ModelColumnType { get; }

    /// <summary>The type of the C# field or property bound to the column, when there is one.</summary>
    public string? ClrType { get; }
}
