using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>
/// Fails host start-up when a model cache health check was added without the services it reads, instead of
/// answering 500 on every probe.
/// </summary>
internal sealed class ModelCacheHealthCheckValidator(IServiceProvider services) : IValidateOptions<HealthCheckServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthCheckServiceOptions options)
    {
        if (services.GetService<IServiceProviderIsService>() is { } isService && !isService.IsService(typeof(IModelCacheProvider)))
        {
            return ValidateOptionsResult.Fail(
                "AddHealthChecks().AddModelCache() checks the model cache, which is not registered: call services.AddModelCache() and add models with AddModel(...), or register models with services.AddPredictionEnginePool<TData, TPrediction>().FromFile(...).");
        }

        HashSet<string>? registered = null;
        foreach (ModelCacheHealthCheckTarget target in services.GetServices<ModelCacheHealthCheckTarget>())
        {
            if (target.ModelName is { } modelName)
            {
                registered ??= ModelRegistration.RegisteredNames(services);
                if (!registered.Contains(modelName))
                {
                    string known = registered.Count == 0 ? "none is registered" : "registered: " + string.Join(", ", registered.Order(StringComparer.Ordinal).Select(static n => $"'{n}'"));
                    return ValidateOptionsResult.Fail($"AddHealthChecks().AddModelCache(\"{modelName}\") checks a model that is not registered ({known}).");
                }
            }
        }

        return ValidateOptionsResult.Success;
    }
}
