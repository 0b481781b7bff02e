using System.Buffers;

namespace ModelCaching;

/// <summary>
/// The rule for names that reach a model template: a name becomes part of a file path or an address
/// (<c>models/{name}.zip</c>), so it is checked before it reaches either.
/// </summary>
/// <remarks>
/// A valid name has 1 to <see cref="MaxLength"/> characters, each an ASCII letter, digit, <c>-</c>, <c>_</c> or
/// <c>.</c>, and starts with a letter or a digit. So no name can climb out of a directory (<c>../</c>), name an
/// absolute path or a drive, carry a query or a fragment into an address, or hide a control character in a log line.
/// </remarks>
public static class ModelNames
{
    /// <summary>The longest name a template accepts.</summary>
    public const int MaxLength = 128;

    private static readonly SearchValues<char> s_allowed = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

    /// <summary>Whether <paramref name="name"/> is a valid name for a model made from a template.</summary>
    public static bool IsValid(string? name) => Problem(name) is null;

    /// <summary>Throws when <paramref name="name"/> is not a valid name for a model made from a template.</summary>
    /// <param name="name">The name asked for.</param>
    /// <param name="templateName">The template it was meant for, named in the message.</param>
    /// <exception cref="InvalidModelNameException">The name is empty, too long, or has a character outside the rule; the message says which.</exception>
    public static void Validate(string? name, string templateName)
    {
        if (Problem(name) is { } problem)
        {
            throw new InvalidModelNameException(name, templateName, problem);
        }
    }

    /// <summary>A name cut to a length that fits a message or a log line, with control characters shown as '?'.</summary>
    internal static string Shorten(string? name)
    {
        if (name is null)
        {
            return "(null)";
        }

        const int Shown = 40;
        string shown = name.Length <= Shown ? name : string.Concat(name.AsSpan(0, Shown), "…");
        return string.Create(shown.Length, shown, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    private static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "a name must not be empty";
        }

        if (name.Length > MaxLength)
        {
            return $"it is {name.Length:N0} characters long, and at most {MaxLength} are allowed";
        }

        int bad = name.AsSpan().IndexOfAnyExcept(s_allowed);
        if (bad >= 0)
        {
            char c = name[bad];
            string shown = char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}'";
            return $"character {shown} at position {bad} is not allowed (use ASCII letters, digits, '-', '_' and '.')";
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            return "it must start with a letter or a digit";
        }

        return null;
    }
}
