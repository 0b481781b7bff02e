namespace ModelCaching;

/// <summary>
/// No model of the name asked for exists: none is registered under it, and no template serves it. A
/// <see cref="KeyNotFoundException"/>, so code that catches that keeps working; ModelCaching.AspNetCore answers it with a
/// 404 problem (<c>AddModelCacheProblemDetails</c>).
/// </summary>
public sealed class ModelNotFoundException : KeyNotFoundException
{
    /// <summary>Creates the exception for the name <paramref name="modelName"/>.</summary>
    /// <param name="modelName">The name asked for.</param>
    /// <param name="message">What is missing and what exists instead.</param>
    /// <param name="knownModels">The names that do exist (registered models, or the models with what was asked for).</param>
    public ModelNotFoundException(string modelName, string message, IReadOnlyList<string>? knownModels = null)
        : base(message)
    {
        ModelName = modelName;
        KnownModels = knownModels ?? [];
    }

    /// <summary>The name asked for, as the caller gave it (it may be long or hold control characters: shorten it before showing it).</summary>
    public string ModelName { get; }

    /// <summary>The names that do exist, for a message or a problem detail.</summary>
    public IReadOnlyList<string> KnownModels { get; }
}
