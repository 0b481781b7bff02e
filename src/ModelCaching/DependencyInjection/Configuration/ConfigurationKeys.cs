using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace ModelCaching;

/// <summary>
/// The keys a configuration section may hold: those an options type binds (as
/// <see cref="ConfigurationBinder"/> does: public settable properties, and get-only collections and objects it fills),
/// each with the keys of its own section. A key whose property is a value (a number, a time span, an enum) has none;
/// a collection or dictionary takes any keys (its indexes or entries).
/// </summary>
internal sealed class ConfigurationKeys
{
    // Deep enough for any options type we bind; a type that refers to itself (a linked list) stops here.
    private const int MaxDepth = 6;

    // null: the key takes a value, not a section.
    private readonly Dictionary<string, ConfigurationKeys?> _keys = new(StringComparer.OrdinalIgnoreCase);

    public ConfigurationKeys(string description, bool acceptsAnyKey = false)
    {
        Description = description;
        AcceptsAnyKey = acceptsAnyKey;
    }

    /// <summary>What binds here, for messages: "ModelOptions", "RedisFleetOptions".</summary>
    public string Description { get; }

    /// <summary>Whether any key is valid here (a list's indexes, a dictionary's entries).</summary>
    public bool AcceptsAnyKey { get; }

    /// <summary>The valid keys, as the options type spells them.</summary>
    public IEnumerable<string> Keys => _keys.Keys;

    /// <summary>The keys <paramref name="optionsType"/> binds.</summary>
    public static ConfigurationKeys Of(Type optionsType) => Of(optionsType, depth: 0);

    /// <summary>Whether <paramref name="key"/> is valid here; <paramref name="section"/> is what it may hold (<see langword="null"/>: a value).</summary>
    public bool TryGet(string key, out ConfigurationKeys? section) => _keys.TryGetValue(key, out section) || (AcceptsAnyKey && Any(out section));

    /// <summary>Adds <paramref name="key"/>; a key added twice keeps the keys of both.</summary>
    public void Add(string key, ConfigurationKeys? section)
    {
        if (_keys.TryGetValue(key, out ConfigurationKeys? existing) && existing is not null && section is not null)
        {
            if (section.AcceptsAnyKey)
            {
                _keys[key] = section;
            }
            else if (!existing.AcceptsAnyKey)
            {
                existing.AddAll(section);
            }

            return;
        }

        _keys[key] = section;
    }

    /// <summary>Adds every key of <paramref name="other"/>.</summary>
    public void AddAll(ConfigurationKeys other)
    {
        foreach ((string key, ConfigurationKeys? section) in other._keys)
        {
            Add(key, section);
        }
    }

    /// <summary>Adds <paramref name="section"/> at a path of keys below this one (<c>Fleet</c>, <c>Extensions:Blob</c>).</summary>
    public void AddAt(IReadOnlyList<string> path, ConfigurationKeys section)
    {
        ConfigurationKeys node = this;
        for (int i = 0; i < path.Count - 1; i++)
        {
            if (!node._keys.TryGetValue(path[i], out ConfigurationKeys? next) || next is null)
            {
                next = new ConfigurationKeys(section.Description);
                node._keys[path[i]] = next;
            }

            if (next.AcceptsAnyKey)
            {
                return; // any key is valid there already
            }

            node = next;
        }

        node.Add(path[^1], section);
    }

    private static bool Any(out ConfigurationKeys? section)
    {
        section = AnyKeys;
        return true;
    }

    private static readonly ConfigurationKeys AnyKeys = new("entries", acceptsAnyKey: true);

    private static ConfigurationKeys Of(Type type, int depth)
    {
        var keys = new ConfigurationKeys(type.Name);
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            Type propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            bool settable = property.SetMethod is { IsPublic: true };
            string key = property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? property.Name;
            if (IsValue(propertyType))
            {
                if (settable)
                {
                    keys.Add(key, null);
                }
            }
            else if (typeof(IEnumerable).IsAssignableFrom(propertyType))
            {
                // A list or dictionary: its keys are indexes or entries, which the binder takes as they come.
                keys.Add(key, AnyKeys);
            }
            else if (!typeof(Delegate).IsAssignableFrom(propertyType) && !propertyType.IsInterface && !propertyType.IsAbstract)
            {
                // An object the binder creates (settable) or fills (get-only): its own keys, or any below the depth limit.
                keys.Add(key, depth < MaxDepth ? Of(propertyType, depth + 1) : AnyKeys);
            }

            // Delegates, interfaces and abstract types (a model's Source, Loader, SizeEstimator) are set in code only:
            // the binder cannot make them, so configuration has no key for them.
        }

        return keys;
    }

    // The binder converts a value from its string when the type's converter can (numbers, enums, TimeSpan, Uri, …).
    private static bool IsValue(Type type) =>
        type == typeof(string) || type.IsPrimitive || type.IsEnum || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));
}
