namespace ModelCaching.Tests.Documentation;

/// <summary>
/// Issue 20: the four packages a single-process app takes (the core, .ML, .Onnx, .AspNetCore) hold at most 650 public
/// entries, counted as tools/public-api-count counts them: every line of PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt
/// that is neither a comment nor a removal.
/// </summary>
public sealed class PublicSurfaceTests
{
    private const int Limit = 650;
    private static readonly string[] Four = ["ModelCaching", "ModelCaching.ML", "ModelCaching.Onnx", "ModelCaching.AspNetCore"];

    [Fact]
    public void TheFourPackages_HoldAtMost650PublicEntries()
    {
        string root = RepositoryRoot.Path;
        var counts = Four.ToDictionary(package => package, package => Entries(Path.Combine(root, "src", package)).Count());

        int total = counts.Values.Sum();
        Assert.True(counts.Values.All(static count => count > 0), "every package has a PublicAPI file with entries");
        Assert.True(total <= Limit, $"The four packages hold {total} public entries ({string.Join(", ", counts.Select(static c => $"{c.Key} {c.Value}"))}); the limit is {Limit}. Cut a repeated member before adding one.");
    }

    [Fact]
    public void TheCore_HasNoFleetTypes_TheyAreInModelCachingFleet()
    {
        string root = RepositoryRoot.Path;

        Assert.DoesNotContain(Entries(Path.Combine(root, "src", "ModelCaching")), static entry => entry.Contains("ModelCaching.Fleet.", StringComparison.Ordinal));
        Assert.Contains(Entries(Path.Combine(root, "src", "ModelCaching.Fleet")), static entry => entry.StartsWith("ModelCaching.Fleet.IModelFleet", StringComparison.Ordinal));
    }

    private static IEnumerable<string> Entries(string project) =>
        new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" }
            .Select(file => Path.Combine(project, file))
            .Where(File.Exists)
            .SelectMany(File.ReadAllLines)
            .Select(static line => line.Trim())
            .Where(static line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("*REMOVED*", StringComparison.Ordinal));
}
