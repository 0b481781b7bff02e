namespace ModelCaching;

/// <summary>
/// A template serves the name, but its source has no model for it: the file (or its directory) does not exist, or the
/// address answered 404 or 410. Usually a name that does not exist (no model is published for that tenant). A
/// <see cref="ModelLoadException"/>, so code that catches that keeps working; ModelCaching.AspNetCore answers it with a 404
/// problem (<c>AddModelCacheProblemDetails</c>). A registered model whose file is missing throws
/// <see cref="ModelLoadException"/> itself: that is the deployment's fault, not the caller's.
/// </summary>
public sealed class TemplateModelNotFoundException : ModelLoadException
{
    /// <summary>Creates the exception for the model <paramref name="modelName"/>, made from the template <paramref name="templateName"/>.</summary>
    /// <param name="modelName">The model's name.</param>
    /// <param name="source">Where the model was looked for.</param>
    /// <param name="cause">What was not found.</param>
    /// <param name="templateName">The template the model was made from.</param>
    /// <param name="innerException">The source's own exception.</param>
    public TemplateModelNotFoundException(string modelName, string source, string cause, string templateName, Exception? innerException = null)
        : base(modelName, source, cause, innerException)
    {
        TemplateName = templateName;
    }

    /// <summary>The template the model was made from.</summary>
    public string TemplateName { get; }
}
