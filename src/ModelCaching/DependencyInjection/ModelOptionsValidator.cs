using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>Validates every named <see cref="ModelOptions{TModel}"/> with messages that name the model and the field.</summary>
internal sealed class ModelOptionsValidator<TModel> : IValidateOptions<ModelOptions<TModel>>
    where TModel : class
{
    public ValidateOptionsResult Validate(string? name, ModelOptions<TModel> options)
    {
        if (string.IsNullOrEmpty(name))
        {
            // Unnamed options are not a model; models are always named.
            return ValidateOptionsResult.Skip;
        }

        string[] problems = [.. options.Validate(name)];
        return problems.Length == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>
/// Validates <see cref="ModelCacheOptions"/>, and that every key under the <c>ModelCache</c> section is one something
/// binds (<see cref="ConfigurationKeyCheck"/>): a mistyped name or setting would otherwise be ignored without a word.
/// </summary>
internal sealed class ModelCacheOptionsValidator(IServiceProvider services) : IValidateOptions<ModelCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCacheOptions options)
    {
        var problems = new List<string>();
        if (options.MaxConcurrentLoads < 1)
        {
            problems.Add($"ModelCache: MaxConcurrentLoads must be at least 1 (was {options.MaxConcurrentLoads}).");
        }

        if (options.LoadQueueTimeout <= TimeSpan.Zero && options.LoadQueueTimeout != Timeout.InfiniteTimeSpan)
        {
            problems.Add($"ModelCache: LoadQueueTimeout must be positive or Timeout.InfiniteTimeSpan (was {options.LoadQueueTimeout}).");
        }

        if (options.MemoryBudgetBytes is < 1)
        {
            problems.Add($"ModelCache: MemoryBudgetBytes must be at least 1 byte, or null for no budget (was {options.MemoryBudgetBytes:N0}).");
        }

        if (services.GetService<ModelCacheConfiguration>() is { } configuration)
        {
            problems.AddRange(ConfigurationKeyCheck.Problems(configuration, services));
        }

        // This runs when the provider is built (by the check at start, or on first use, or by an endpoint mapped before
        // the host starts): once it fails, every other problem goes with it, so that a misspelled model name does not
        // hide the "Source is not set" of the model it meant.
        if (problems.Count > 0)
        {
            problems.AddRange(ModelCacheStartupCheckValidator.ModelProblems(services));
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
