using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching;

/// <summary>
/// Finds every key under the <c>ModelCache</c> section that nothing binds: a misspelled setting
/// (<c>WaitForStatup</c>), a section for a model or template no code registers (<c>Models:taxi-fair</c>), a key inside a
/// section another package declared (<c>Fleet</c>). Each problem names the key, its full path and the nearest valid key.
/// The valid keys come from the options types themselves (<see cref="ConfigurationKeys"/>) and from the sections other
/// packages declare (<see cref="DeclaredConfigurationSection"/>), so the list cannot go stale.
/// </summary>
internal static class ConfigurationKeyCheck
{
    private const string Models = "Models";
    private const string Templates = "Templates";

    public static List<string> Problems(ModelCacheConfiguration configuration, IServiceProvider services)
    {
        var problems = new List<string>();
        IConfiguration section = configuration.Section;
        // A section (ModelCache) holds only our keys; the configuration root (AddModelCache(builder.Configuration)) also
        // holds the application's own sections, so there only Models and Templates are checked.
        string? rootPath = (section as IConfigurationSection)?.Path;
        DeclaredConfigurationSection[] declared = [.. services.GetServices<DeclaredConfigurationSection>()];

        ConfigurationKeys modelKeys = ConfigurationKeys.Of(typeof(ModelOptions));
        modelKeys.AddAll(ConfigurationKeys.Of(typeof(ConfiguredModelSource))); // FilePath, Uri, ...: bound beside the options
        foreach (DeclaredConfigurationSection declaration in declared)
        {
            if (declaration.ModelKey is { } key)
            {
                modelKeys.AddAt(key.Split(ConfigurationPath.KeyDelimiter), ConfigurationKeys.Of(declaration.OptionsType));
            }
        }

        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (string.Equals(child.Key, Models, StringComparison.OrdinalIgnoreCase))
            {
                CheckNamed(child, "model", "AddModel", ModelRegistration.RegisteredNames(services), modelKeys, problems);
            }
            else if (string.Equals(child.Key, Templates, StringComparison.OrdinalIgnoreCase))
            {
                ConfigurationKeys templateKeys = ConfigurationKeys.Of(typeof(ModelTemplateOptions));
                templateKeys.AddAll(modelKeys);
                var templates = new HashSet<string>(services.GetServices<ModelTemplate>().Select(static t => t.Name), StringComparer.Ordinal);
                CheckNamed(child, "template", "AddModelTemplate", templates, templateKeys, problems);
            }
            else if (rootPath is not null)
            {
                CheckKey(child, RootKeys(rootPath, declared), problems);
            }
        }

        return problems;
    }

    private static ConfigurationKeys RootKeys(string rootPath, DeclaredConfigurationSection[] declared)
    {
        ConfigurationKeys keys = ConfigurationKeys.Of(typeof(ModelCacheOptions));
        keys.Add(Models, null);
        keys.Add(Templates, null);
        string prefix = rootPath + ConfigurationPath.KeyDelimiter;
        foreach (DeclaredConfigurationSection declaration in declared)
        {
            if (declaration.Section is IConfigurationSection own && own.Path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                keys.AddAt(own.Path[prefix.Length..].Split(ConfigurationPath.KeyDelimiter), ConfigurationKeys.Of(declaration.OptionsType));
            }
        }

        return keys;
    }

    /// <summary>Checks <c>Models</c> or <c>Templates</c>: each child names a registered model (template), and holds its keys.</summary>
    private static void CheckNamed(IConfigurationSection parent, string what, string register, HashSet<string> registered, ConfigurationKeys keys, List<string> problems)
    {
        foreach (IConfigurationSection named in parent.GetChildren())
        {
            if (registered.Contains(named.Key))
            {
                CheckKeys(named, keys, problems);
                continue;
            }

            string known = registered.Count == 0 ? "none is registered" : "registered: " + string.Join(", ", registered.Order(StringComparer.Ordinal).Select(static n => $"'{n}'"));
            string nearest = NearestName.Find(named.Key, registered) is { } near ? $" Did you mean '{near}'?" : string.Empty;
            problems.Add($"{named.Path} configures a {what} named '{named.Key}' that no code registers ({known}).{nearest} Otherwise register it with AddModelCache().{register}(\"{named.Key}\", ...), or remove the section.");
        }
    }

    private static void CheckKeys(IConfigurationSection section, ConfigurationKeys keys, List<string> problems)
    {
        if (keys.AcceptsAnyKey)
        {
            return;
        }

        foreach (IConfigurationSection child in section.GetChildren())
        {
            CheckKey(child, keys, problems);
        }
    }

    private static void CheckKey(IConfigurationSection child, ConfigurationKeys keys, List<string> problems)
    {
        if (!keys.TryGet(child.Key, out ConfigurationKeys? inner))
        {
            string parentPath = ConfigurationPath.GetParentPath(child.Path) ?? string.Empty;
            string hint = NearestName.Find(child.Key, keys.Keys) is { } near
                ? $"Did you mean '{near}'?"
                : $"Its keys are {string.Join(", ", keys.Keys.Order(StringComparer.Ordinal))}.";
            problems.Add($"{child.Path} is not a setting: {parentPath} ({keys.Description}) has no key '{child.Key}'. {hint}");
        }
        else if (inner is not null)
        {
            CheckKeys(child, inner, problems);
        }
        else if (child.GetChildren().Any())
        {
            problems.Add($"{child.Path} takes a value, not a section: remove the keys under it ({string.Join(", ", child.GetChildren().Select(static c => c.Key))}).");
        }
    }
}
