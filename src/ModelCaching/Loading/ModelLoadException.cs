using System.Net;

namespace ModelCaching;

/// <summary>
/// Thrown when a model could not be loaded and no good generation is serving: the model cannot serve now.
/// Names the model, the source and the cause; the cause is kept as <see cref="Exception.InnerException"/>.
/// ModelCaching.AspNetCore answers it with a 503 problem (<c>AddModelCacheProblemDetails</c>).
/// </summary>
/// <remarks>A template's model whose source has nothing for its name throws the derived <see cref="TemplateModelNotFoundException"/>.</remarks>
public class ModelLoadException : Exception
{
    /// <summary>Creates an exception for the model <paramref name="modelName"/>.</summary>
    public ModelLoadException(string modelName, string source, string cause, Exception? innerException = null)
        : base($"Model '{modelName}' could not be loaded from {source}: {cause}", innerException)
    {
        ModelName = modelName;
        Source = source;
        Cause = cause;
    }

    /// <summary>The name of the model.</summary>
    public string ModelName { get; }

    /// <summary>Where the model was loaded from.</summary>
    public new string Source { get; }

    /// <summary>A short description of what went wrong.</summary>
    public string Cause { get; }

    /// <summary>The failure of a load that threw <paramref name="innerException"/>: <see cref="TemplateModelNotFoundException"/> when a template's source has nothing for the name.</summary>
    internal static ModelLoadException Of(string modelName, string source, string cause, Exception innerException, string? templateName) =>
        templateName is not null && innerException is FileNotFoundException or DirectoryNotFoundException or HttpRequestException { StatusCode: HttpStatusCode.NotFound or HttpStatusCode.Gone }
            ? new TemplateModelNotFoundException(modelName, source, cause, templateName, innerException)
            : new ModelLoadException(modelName, source, cause, innerException);

    /// <summary>A new exception of the same type for the same model, with <paramref name="cause"/> (each caller gets its own instance).</summary>
    internal ModelLoadException WithCause(string cause) => this is TemplateModelNotFoundException notFound
        ? new TemplateModelNotFoundException(ModelName, Source, cause, notFound.TemplateName, InnerException)
        : new ModelLoadException(ModelName, Source, cause, InnerException);
}
