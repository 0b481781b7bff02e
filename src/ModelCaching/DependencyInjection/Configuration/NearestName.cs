namespace ModelCaching;

/// <summary>
/// The valid name nearest to a misspelled one, by edit distance (Levenshtein, ignoring case), for "did you mean …?".
/// Hand-written: twenty lines, where a package for it would be a dependency of the core for one message.
/// </summary>
internal static class NearestName
{
    /// <summary>
    /// The candidate nearest to <paramref name="name"/>, or <see langword="null"/> when none is near enough to be what was
    /// meant: at most 2 edits, or a third of the name's length for longer names.
    /// </summary>
    public static string? Find(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = Math.Max(2, name.Length / 3) + 1;
        foreach (string candidate in candidates)
        {
            int distance = Distance(name, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return best;
    }

    /// <summary>The number of single-character insertions, deletions and substitutions from one to the other, ignoring case.</summary>
    public static int Distance(string a, string b)
    {
        // One row of the dynamic-programming table at a time.
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            row[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                int cost = char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1;
                row[j] = Math.Min(Math.Min(row[j - 1] + 1, above + 1), diagonal + cost);
                diagonal = above;
            }
        }

        return row[b.Length];
    }
}
