namespace ModelCaching.Reload;

/// <summary>
/// What a file looks like from outside without reading it: where its symbolic links lead, whether it
/// exists, its size and last-write time, and the same for its SHA-256 sidecar. Two equal fingerprints taken
/// a stability interval apart mean nobody is writing the file.
/// </summary>
internal readonly record struct FileFingerprint(
    string RealPath,
    bool Exists,
    long Length,
    DateTime LastWriteUtc,
    bool SidecarExists,
    long SidecarLength,
    DateTime SidecarLastWriteUtc)
{
    public static FileFingerprint Take(string path, string? sidecarPath)
    {
        string realPath = SymbolicLinks.ResolveRealPath(path);
        var file = new FileInfo(realPath);
        bool exists = file.Exists;
        bool sidecarExists = false;
        long sidecarLength = 0;
        DateTime sidecarWrite = default;
        if (sidecarPath is not null)
        {
            var sidecar = new FileInfo(SymbolicLinks.ResolveRealPath(sidecarPath));
            sidecarExists = sidecar.Exists;
            if (sidecarExists)
            {
                sidecarLength = sidecar.Length;
                sidecarWrite = sidecar.LastWriteTimeUtc;
            }
        }

        return new FileFingerprint(
            realPath,
            exists,
            exists ? file.Length : 0,
            exists ? file.LastWriteTimeUtc : default,
            sidecarExists,
            sidecarLength,
            sidecarWrite);
    }
}
