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

/// <summary>Validates <see cref="ModelCacheOptions"/>.</summary>
internal sealed class ModelCacheOptionsValidator : IValidateOptions<ModelCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelCacheOptions options) =>
        options.MaxConcurrentLoads < 1
            ? ValidateOptionsResult.Fail($"ModelCache: MaxConcurrentLoads must be at least 1 (was {options.MaxConcurrentLoads}).")
            : ValidateOptionsResult.Success;
}
