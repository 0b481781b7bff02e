using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>
/// What is checked when the host starts (<c>ValidateOnStart</c>), in one <see cref="OptionsValidationException"/>: the
/// shared options and every key of the <c>ModelCache</c> section (<see cref="ModelCacheOptionsValidator"/>), every
/// registered model's options (those <c>AddModels</c> discovers too) and every template's. One check rather than one per options instance, so that every
/// problem is reported at once: a misspelled model name does not hide the "Source is not set" of the model it meant.
/// It holds nothing; it is an options type only so the host runs it with the other start-up validations.
/// </summary>
internal sealed class ModelCacheStartupCheck
{
}

/// <summary>Runs <see cref="ModelCacheStartupCheck"/>; see there.</summary>
internal sealed class ModelCacheStartupCheckValidator(IServiceProvider services) : IValidateOptions<ModelCacheStartupCheck>
{
    [ThreadStatic]
    private static bool t_collectingModels;

    public ValidateOptionsResult Validate(string? name, ModelCacheStartupCheck options)
    {
        var problems = new List<string>();
        try
        {
            _ = services.GetRequiredService<IOptions<ModelCacheOptions>>().Value;
            problems.AddRange(ModelProblems(services));
        }
        catch (OptionsValidationException ex)
        {
            // The shared options or the keys failed: ModelCacheOptionsValidator added the models' problems already.
            problems.AddRange(ex.Failures);
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>
    /// The problems of every model's options (registered, discovered by <c>AddModels</c>) and every template's. Reading
    /// a model's options runs its configure callbacks; one that builds the provider while this runs (the provider's own
    /// check asked for these) gets no second list, instead of recursing.
    /// </summary>
    public static List<string> ModelProblems(IServiceProvider services)
    {
        var problems = new List<string>();
        if (t_collectingModels)
        {
            return problems;
        }

        t_collectingModels = true;
        try
        {
            foreach (ModelRegistration registration in services.GetServices<ModelRegistration>())
            {
                problems.AddRange(registration.Problems(services));
            }

            foreach (DeferredModelRegistration group in services.GetServices<DeferredModelRegistration>())
            {
                foreach (string model in group.DiscoverNames(services))
                {
                    problems.AddRange(group.Problems(model, services));
                }
            }

            foreach (ModelTemplate template in services.GetServices<ModelTemplate>())
            {
                try
                {
                    problems.AddRange(template.Options(services).Validate(template.Name));
                }
                catch (OptionsValidationException ex)
                {
                    problems.AddRange(ex.Failures);
                }
            }
        }
        finally
        {
            t_collectingModels = false;
        }

        return problems;
    }
}
