using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace ModelCaching.Tests;

/// <summary>README.md's quickstart compiles and runs as written: <see cref="Quickstart"/> holds the same lines.</summary>
public sealed class ReadmeQuickstartTests
{
    [Fact]
    public async Task Quickstart_Runs()
    {
        await File.WriteAllTextAsync("labels.txt", "cat\ndog\nbird\n");

        string printed = await Quickstart();

        Assert.StartsWith("3 labels, version ", printed);
        Assert.Matches("version [0-9a-f]{64}$", printed.TrimEnd());
    }

    [Fact]
    public void Readme_ShowsTheSameCodeAsThisTest()
    {
        string readme = File.ReadAllText("README.md");
        string self = File.ReadAllText("ReadmeQuickstartTests.cs.txt");
        int start = readme.IndexOf("```csharp", StringComparison.Ordinal);
        int end = readme.IndexOf("```", start + 9, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README.md has a ```csharp quickstart block");

        string[] lines = [.. readme[(start + 9)..end].Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
        Assert.True(lines.Length >= 8);
        foreach (string line in lines.Where(l => !l.StartsWith("using ", StringComparison.Ordinal)))
        {
            Assert.True(self.Contains(line, StringComparison.Ordinal), $"README line not in the compiled quickstart: {line}");
        }

        foreach (string line in lines.Where(l => l.StartsWith("using ", StringComparison.Ordinal) && l != "using ModelCaching;"))
        {
            Assert.True(self.Contains(line, StringComparison.Ordinal), $"README using not in the compiled quickstart: {line}");
        }
    }

    private static async Task<string> Quickstart()
    {
        var output = new StringWriter();
        Console.Out = output;

        var services = new ServiceCollection();
        services.AddModelCache()
            .AddModel<string[]>("labels", model => model
                .FromFile("labels.txt", watchForChanges: true)
                .UseLoader((artifact, ct) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries))));
        await using ServiceProvider provider = services.BuildServiceProvider();

        IModelCache<string[]> labels = provider.GetRequiredKeyedService<IModelCache<string[]>>("labels");
        Console.WriteLine($"{labels.GetModel().Length} labels, version {labels.Version?.Id}");
        return output.ToString();
    }

    /// <summary>Stands in for <see cref="System.Console"/> so the quickstart's output can be checked.</summary>
    private static class Console
    {
        public static TextWriter Out { get; set; } = TextWriter.Null;

        public static void WriteLine(string line) => Out.WriteLine(line);
    }
}
