using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ModelCaching;

/// <summary>The configuration section given to <c>AddModelCache(IConfiguration)</c>; models bind from its <c>Models:{name}</c> children.</summary>
internal sealed class ModelCacheConfiguration(IConfiguration section)
{
    public IConfiguration Section { get; } = section;

    public IConfigurationSection ForModel(string name) => Section.GetSection("Models").GetSection(name);

    /// <summary>The names under <c>Models</c>, with their configuration paths.</summary>
    public IEnumerable<IConfigurationSection> ModelSections() => Section.GetSection("Models").GetChildren();

    /// <summary>
    /// Binds the model's section onto <paramref name="options"/>. An enum value the binder cannot convert fails with
    /// the valid values listed, instead of the binder's "Failed to convert configuration value".
    /// </summary>
    /// <exception cref="OptionsValidationException">A value is not one of its enum's names.</exception>
    public void Bind<TModel>(string name, ModelOptions<TModel> options)
        where TModel : class => Bind(name, ForModel(name), options);

    /// <summary>The template's section (<c>Templates:{template}</c>), bound onto the options of one model made from it.</summary>
    public IConfigurationSection ForTemplate(string template) => Section.GetSection("Templates").GetSection(template);

    public void BindTemplate<TModel>(string template, string modelName, ModelOptions<TModel> options)
        where TModel : class => Bind(modelName, ForTemplate(template), options);

    private static void Bind<TModel>(string name, IConfigurationSection section, ModelOptions<TModel> options)
        where TModel : class
    {
        List<string>? problems = null;
        CheckEnum<ModelLoadPolicy>(name, section, nameof(ModelOptions.Policy), ref problems);
        CheckEnum<ModelSwapMode>(name, section, nameof(ModelOptions.SwapMode), ref problems);
        CheckEnum<ModelRollbackRetention>(name, section, nameof(ModelOptions.RollbackRetention), ref problems);
        CheckEnum<ModelSizeMeasure>(name, section, nameof(ModelOptions.SizeMeasure), ref problems);
        if (problems is not null)
        {
            throw new OptionsValidationException(name, typeof(ModelOptions<TModel>), problems);
        }

        try
        {
            section.Bind(options);

            // The source keys (FilePath, Uri, ...) bind beside the options: they name a source for a model whose code sets
            // none (used when IsSet), and are checked at start whether or not they name one.
            var configured = new ConfiguredModelSource();
            section.Bind(configured);
            options.ConfiguredSource = configured;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is FormatException or OverflowException or ArgumentException)
        {
            // A value the binder cannot convert (a TimeSpan as "10 minutes", a number out of range): reported with the
            // other validation problems at start, naming the model, rather than as a bare InvalidOperationException.
            throw new OptionsValidationException(name, typeof(ModelOptions<TModel>), [$"Model '{name}': {ex.Message} {ex.InnerException.Message}"]);
        }
    }

    private static void CheckEnum<TEnum>(string name, IConfigurationSection section, string key, ref List<string>? problems)
        where TEnum : struct, Enum
    {
        string? value = section[key];
        if (string.IsNullOrEmpty(value) || (Enum.TryParse(value, ignoreCase: true, out TEnum parsed) && Enum.IsDefined(parsed)))
        {
            return;
        }

        (problems ??= []).Add(ModelOptions.Problem(name, key, $"'{value}' ({section.Path}:{key}) is not valid; use one of {ModelOptionsRules.ValidValues<TEnum>()}"));
    }
}
