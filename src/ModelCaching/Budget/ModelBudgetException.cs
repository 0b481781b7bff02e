namespace ModelCaching;

/// <summary>A model cannot be loaded within its memory budget: it alone is larger than the budget.</summary>
public sealed class ModelBudgetException : InvalidOperationException
{
    /// <summary>Creates the exception for the model <paramref name="modelName"/>.</summary>
    public ModelBudgetException(string modelName, string cause)
        : base($"Model '{modelName}' does not fit its memory budget: {cause}.")
    {
        ModelName = modelName;
        Cause = cause;
    }

    /// <summary>The model that did not fit.</summary>
    public string ModelName { get; }

    /// <summary>Why, with both sizes.</summary>
    public string Cause { get; }
}
