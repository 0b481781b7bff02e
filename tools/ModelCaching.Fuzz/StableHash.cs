namespace ModelCaching.Fuzz;

/// <summary>A string hash that is the same in every process (string.GetHashCode is randomized), for seeds.</summary>
internal static class StableHash
{
    public static int GetHashCodeStable(this string text)
    {
        // FNV-1a.
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return unchecked((int)hash);
    }
}
