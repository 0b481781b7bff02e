using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Budget;
using ModelCaching.Diagnostics;

namespace ModelCaching;

/// <summary>
/// The provider's templates (<c>AddModelTemplate</c>): checked once when the provider is built, each with its memory
/// budget (its own, or the provider's) and the rate-limited log of its models whose first load failed; and the lookup
/// of the template that serves a name no model is registered under.
/// </summary>
internal sealed class ModelTemplateSet
{
    private readonly IServiceProvider _services;
    private readonly ModelTemplate[] _templates;
    private readonly Dictionary<ModelTemplate, MemoryBudget?> _budgets = [];
    private readonly Dictionary<ModelTemplate, NeverLoadedLog> _neverLoaded = [];

    /// <exception cref="InvalidOperationException">A template has the name of a registered model.</exception>
    /// <exception cref="OptionsValidationException">A template's options do not validate.</exception>
    public ModelTemplateSet(IServiceProvider services, IEnumerable<ModelTemplate> templates, IReadOnlyDictionary<string, ModelRegistration> registrations, MemoryBudget? providerBudget, TimeProvider timeProvider, ILoggerFactory loggerFactory, ModelCacheMetrics metrics)
    {
        _services = services;
        _templates = [.. templates];
        foreach (ModelTemplate template in _templates)
        {
            if (registrations.ContainsKey(template.Name))
            {
                throw new InvalidOperationException($"'{template.Name}' is both a model (AddModel) and a template (AddModelTemplate): give the template another name.");
            }

            ModelTemplateOptions templateOptions = template.Options(services);
            string[] problems = [.. templateOptions.Validate(template.Name)];
            if (problems.Length > 0)
            {
                throw new OptionsValidationException(template.Name, typeof(ModelTemplateOptions), problems);
            }

            MemoryBudget? budget = providerBudget;
            if (templateOptions.MemoryBudgetBytes is { } templateLimit)
            {
                budget = new MemoryBudget(template.Name, templateLimit, timeProvider);
                metrics.Register(budget);
            }

            _budgets[template] = budget;
            _neverLoaded[template] = new NeverLoadedLog(loggerFactory.CreateLogger("ModelCaching.ModelCache"), timeProvider, template.Name);
        }
    }

    /// <summary>Whether any template is registered.</summary>
    public bool Any => _templates.Length > 0;

    /// <summary>The budgets the templates' models are charged to (the provider's for a template without its own).</summary>
    public IEnumerable<MemoryBudget?> Budgets => _budgets.Values;

    public MemoryBudget? BudgetOf(ModelTemplate template) => _budgets[template];

    public NeverLoadedLog NeverLoadedLogOf(ModelTemplate template) => _neverLoaded[template];

    /// <summary>The template serving <paramref name="name"/>: the longest matching prefix, then one without a prefix.</summary>
    public ModelTemplate? Find(string name, Type? modelType)
    {
        ModelTemplate? best = null;
        int bestLength = -1;
        foreach (ModelTemplate template in _templates)
        {
            if (modelType is not null && template.ModelType != modelType)
            {
                continue;
            }

            string prefix = template.Options(_services).NamePrefix ?? string.Empty;
            if (prefix.Length > bestLength && name.StartsWith(prefix, StringComparison.Ordinal))
            {
                best = template;
                bestLength = prefix.Length;
            }
        }

        return best;
    }

    /// <summary>The templates for an unknown name's message: <c>; templates: 'tenants' (FakeModel, names starting with 'tenant-')</c>, or nothing.</summary>
    public string Describe() => _templates.Length == 0
        ? string.Empty
        : "; templates: " + string.Join(", ", _templates.Select(t => $"'{t.Name}' ({t.ModelType.Name}{(t.Options(_services).NamePrefix is { } prefix ? $", names starting with '{prefix}'" : string.Empty)})"));
}
