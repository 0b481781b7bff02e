namespace ModelCaching.Fuzz.Targets;

/// <summary>The model a plain delegate loader makes of a zip: what it holds.</summary>
public sealed record ZipManifest(int EntryCount, long InflatedBytes);
