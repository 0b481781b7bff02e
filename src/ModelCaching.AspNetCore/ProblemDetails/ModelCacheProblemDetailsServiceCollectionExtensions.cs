using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelCaching;
using ModelCaching.AspNetCore.ProblemDetails;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Maps the model cache's exceptions to RFC 7807 problem details.</summary>
public static class ModelCacheProblemDetailsServiceCollectionExtensions
{
    /// <summary>
    /// Answers the failures a caller's model name can meet with problem details instead of a 500, through ASP.NET Core's
    /// exception handler (<c>app.UseExceptionHandler()</c>, which must be in the pipeline):
    /// <see cref="ModelNotFoundException"/> (no model of that name) and <see cref="TemplateModelNotFoundException"/> (a
    /// template's name with no model at its source) → <c>404</c>; <see cref="InvalidModelNameException"/> → <c>400</c>;
    /// <see cref="ModelCaching.Fleet.ModelNotOwnedException"/> (a placed model another instance of the fleet owns) → <c>421</c> with the
    /// owners (<c>owners</c>: <c>[{ "id", "address" }]</c>);
    /// <see cref="ModelLoadException"/> and <see cref="ModelBudgetException"/> (the model cannot serve now) → <c>503</c> with
    /// <c>Retry-After</c>. Each problem names the model (<c>model</c>) and the cause (<c>cause</c>). Also calls
    /// <c>AddProblemDetails()</c>; calling this twice is safe.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddModelCacheProblemDetails(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddProblemDetails();

        // AddExceptionHandler<T> adds a handler on each call: TryAddEnumerable keeps it to one.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IExceptionHandler, ModelCacheExceptionHandler>());
        return services;
    }
}
