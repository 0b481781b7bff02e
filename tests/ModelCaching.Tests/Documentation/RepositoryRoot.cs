namespace ModelCaching.Tests.Documentation;

/// <summary>The repository's root folder (the one with ModelCaching.sln), found from the test's output folder.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "ModelCaching.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("No ModelCaching.sln above " + AppContext.BaseDirectory);
    }
}
