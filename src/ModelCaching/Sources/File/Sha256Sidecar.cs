using System.Text;

namespace ModelCaching.Reload;

/// <summary>Reads a <c>&lt;file&gt;.sha256</c> sidecar: the hex digest alone, or a <c>sha256sum</c> line (<c>digest  name</c>).</summary>
internal static class Sha256Sidecar
{
    // A sha256sum line is 64 hex digits, two spaces and a name; anything much longer is not a sidecar.
    private const int MaxSidecarBytes = 4096;

    /// <summary>Returns the expected SHA-256 (lowercase hex), or <see langword="null"/> when there is no sidecar.</summary>
    /// <exception cref="InvalidDataException">The sidecar exists but does not hold a SHA-256.</exception>
    public static string? TryRead(string sidecarPath)
    {
        byte[] bytes;
        try
        {
            var stream = new FileStream(sidecarPath, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
            });
            using (stream)
            {
                if (stream.Length > MaxSidecarBytes)
                {
                    throw new InvalidDataException($"The SHA-256 sidecar '{sidecarPath}' is {stream.Length:N0} bytes long; it should hold one 64-digit hex digest.");
                }

                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        return Parse(Encoding.UTF8.GetString(bytes), sidecarPath);
    }

    internal static string Parse(string text, string sidecarPath)
    {
        ReadOnlySpan<char> line = text.AsSpan().Trim();
        int end = line.IndexOfAny(' ', '\t', '\n');
        ReadOnlySpan<char> digest = end < 0 ? line : line[..end];
        if (digest.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase))
        {
            digest = digest["sha256:".Length..];
        }

        if (!ModelOptions.IsSha256Hex(digest.ToString()))
        {
            throw new InvalidDataException($"The SHA-256 sidecar '{sidecarPath}' does not start with a 64-digit hex digest (it starts with '{Shorten(line)}').");
        }

        return digest.ToString().ToLowerInvariant();
    }

    private static string Shorten(ReadOnlySpan<char> text) => text.Length <= 80 ? text.ToString() : string.Concat(text[..80], "…");
}
