namespace ModelCaching.ML;

/// <summary>How a model name asked for is shown in a message: a name that fails may be 10,000 characters long, or hold control characters.</summary>
internal static class PredictionPoolNames
{
    private const int Shown = 40;

    public static string Shorten(string name)
    {
        string shown = name.Length <= Shown ? name : string.Concat(name.AsSpan(0, Shown), "…");
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }
}
