namespace ModelCaching.Redis.Records;

/// <summary>The rules for fleet names and version ids: what goes into Redis keys.</summary>
internal static class FleetNames
{
    public const int MaxLength = 100;

    /// <summary>Letters, digits, <c>.</c>, <c>-</c>, <c>_</c>; 1 to 100 characters.</summary>
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
