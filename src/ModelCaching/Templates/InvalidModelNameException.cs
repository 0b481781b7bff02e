namespace ModelCaching;

/// <summary>
/// A name that would reach a model template breaks the rule for names (<see cref="ModelNames"/>): empty, too long, or
/// with a character that could climb out of a directory or into an address. An <see cref="ArgumentException"/>, so code
/// that catches that keeps working; ModelCaching.AspNetCore answers it with a 400 problem (<c>AddModelCacheProblemDetails</c>).
/// </summary>
public sealed class InvalidModelNameException : ArgumentException
{
    /// <summary>Creates the exception for the name <paramref name="modelName"/>, meant for the template <paramref name="templateName"/>.</summary>
    /// <param name="modelName">The name asked for.</param>
    /// <param name="templateName">The template it was meant for.</param>
    /// <param name="problem">Which part of the rule it breaks.</param>
    public InvalidModelNameException(string? modelName, string templateName, string problem)
        : base($"'{ModelNames.Shorten(modelName)}' is not a valid model name for template '{templateName}': {problem}.", "name")
    {
        ModelName = modelName;
        TemplateName = templateName;
        Problem = problem;
    }

    /// <summary>The name asked for, as the caller gave it (it may be long or hold control characters: shorten it before showing it).</summary>
    public string? ModelName { get; }

    /// <summary>The template the name was meant for.</summary>
    public string TemplateName { get; }

    /// <summary>Which part of the rule the name breaks.</summary>
    public string Problem { get; }
}
