using System.Globalization;

namespace ModelCaching.AspNetCore;

/// <summary>
/// The query of <c>GET {pattern}</c>: a page (<c>offset</c>, <c>limit</c>) and an optional <c>state</c> filter, parsed
/// from the query string with a message per bad parameter.
/// </summary>
internal sealed class ModelStatusQuery
{
    /// <summary>The page size when <c>limit</c> is not given.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest page: a status costs a lock and a history copy per model, so a page stays bounded.</summary>
    public const int MaxLimit = 1000;

    /// <summary>The values <c>state</c> accepts, in the snake case of the <c>modelcache.model.state</c> metric tag.</summary>
    public static readonly string[] StateValues = ["ready", "degraded", "loading", "failed", "not_loaded", "unloaded", "evicted", "draining"];

    private static readonly ModelCacheState[] s_states =
    [
        ModelCacheState.Ready, ModelCacheState.Degraded, ModelCacheState.Loading, ModelCacheState.Failed,
        ModelCacheState.NotLoaded, ModelCacheState.Unloaded, ModelCacheState.Evicted,
    ];

    private ModelStatusQuery(int offset, int limit, string? state, ModelCacheState? stateFilter, bool draining)
    {
        Offset = offset;
        Limit = limit;
        State = state;
        StateFilter = stateFilter;
        Draining = draining;
    }

    /// <summary>How many models (after the filter) the page skips.</summary>
    public int Offset { get; }

    /// <summary>How many models the page holds at most.</summary>
    public int Limit { get; }

    /// <summary>The <c>state</c> value as given (normalized to its snake-case form), or <see langword="null"/> for every model.</summary>
    public string? State { get; }

    /// <summary>The lifecycle state asked for, or <see langword="null"/>.</summary>
    public ModelCacheState? StateFilter { get; }

    /// <summary>Whether only models with retired generations still held (draining) are asked for.</summary>
    public bool Draining { get; }

    /// <summary>Whether a filter applies (every model must then be looked at to count the matches).</summary>
    public bool IsFiltered => StateFilter is not null || Draining;

    /// <summary>Parses the query parameters; on failure <paramref name="errors"/> names each bad parameter.</summary>
    public static bool TryParse(string? offset, string? limit, string? state, out ModelStatusQuery query, out Dictionary<string, string[]> errors)
    {
        errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        int parsedOffset = 0;
        int parsedLimit = DefaultLimit;
        if (offset is not null && !int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out parsedOffset))
        {
            errors["offset"] = [$"offset must be a whole number from 0 to {int.MaxValue} (was '{Shorten(offset)}')."];
        }

        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out parsedLimit) || parsedLimit < 1 || parsedLimit > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit} (was '{Shorten(limit)}')."];
        }

        string? stateValue = null;
        ModelCacheState? stateFilter = null;
        bool draining = false;
        if (state is not null)
        {
            int index = IndexOfState(state);
            if (index < 0)
            {
                errors["state"] = [$"state must be one of {string.Join(", ", StateValues)} (was '{Shorten(state)}')."];
            }
            else
            {
                stateValue = StateValues[index];
                draining = index == s_states.Length;
                stateFilter = draining ? null : s_states[index];
            }
        }

        query = new ModelStatusQuery(parsedOffset, parsedLimit, stateValue, stateFilter, draining);
        return errors.Count == 0;
    }

    /// <summary>Whether <paramref name="cache"/> passes the filter.</summary>
    public bool Matches(IModelCache cache)
    {
        if (StateFilter is { } wanted)
        {
            return cache.State == wanted;
        }

        return !Draining || cache.GetStatistics().RetiredGenerations > 0;
    }

    /// <summary>A value cut to a length that fits a message, with control characters shown as '?'.</summary>
    internal static string Shorten(string value)
    {
        const int Shown = 40;
        string shown = value.Length <= Shown ? value : string.Concat(value.AsSpan(0, Shown), "…");
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    // "not_loaded", "NotLoaded" and "notloaded" all name the same state: the status shows the enum's name, the
    // metrics its snake case, and either may be what a caller copies.
    private static int IndexOfState(string state)
    {
        for (int i = 0; i < StateValues.Length; i++)
        {
            if (EqualsIgnoringUnderscores(StateValues[i], state))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool EqualsIgnoringUnderscores(string expected, string actual)
    {
        int j = 0;
        foreach (char c in expected)
        {
            if (c == '_')
            {
                if (j < actual.Length && actual[j] == '_')
                {
                    j++;
                }

                continue;
            }

            if (j >= actual.Length || char.ToLowerInvariant(actual[j]) != c)
            {
                return false;
            }

            j++;
        }

        return j == actual.Length;
    }
}
