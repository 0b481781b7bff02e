namespace ModelCaching.Reload;

/// <summary>Resolves every symbolic link along a path, like POSIX <c>realpath(3)</c>.</summary>
internal static class SymbolicLinks
{
    // Linux gives up after 40 links (ELOOP); so do we.
    private const int MaxLinks = 40;

    /// <summary>
    /// Returns <paramref name="path"/> with every symbolic link in it resolved, in the file itself and in its
    /// parent directories. Components that do not exist are kept as they are.
    /// </summary>
    /// <remarks>
    /// Hand-written because .NET has no public realpath: <see cref="Path.GetFullPath(string)"/> does not
    /// touch links and <see cref="File.ResolveLinkTarget(string, bool)"/> follows only the last component,
    /// while a Kubernetes ConfigMap swaps a link in a parent directory (<c>..data</c> → <c>..2026_01_01_…</c>).
    /// </remarks>
    /// <exception cref="IOException">The path has a cycle of links, or more than 40 of them.</exception>
    public static string ResolveRealPath(string path)
    {
        string current = Path.GetFullPath(path);
        int links = 0;
        bool restarted = true;
        while (restarted)
        {
            restarted = false;
            string root = Path.GetPathRoot(current) ?? string.Empty;
            string[] parts = current[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            string prefix = root;
            for (int i = 0; i < parts.Length; i++)
            {
                prefix = Path.Join(prefix, parts[i]);
                string? target = ReadLink(prefix);
                if (target is null)
                {
                    continue;
                }

                if (++links > MaxLinks)
                {
                    throw new IOException($"Too many levels of symbolic links resolving '{path}'.");
                }

                string resolved = Path.GetFullPath(target, Path.GetDirectoryName(prefix) ?? root);
                current = i + 1 < parts.Length ? Path.Join(resolved, string.Join(Path.DirectorySeparatorChar, parts, i + 1, parts.Length - i - 1)) : resolved;
                restarted = true;
                break;
            }
        }

        return current;
    }

    private static string? ReadLink(string path)
    {
        try
        {
            // LinkTarget reads the link itself (readlink), whether it points to a file or a directory.
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
