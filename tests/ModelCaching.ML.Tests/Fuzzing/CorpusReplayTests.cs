using Microsoft.ML;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Fuzzing;

/// <summary>
/// Replays the corpus that tools/ModelCaching.Fuzz found (TestModels/FuzzCorpus, one line per file in its index.tsv)
/// through a real <see cref="ModelCache{TModel}"/> with the ML.NET loader: every file either loads, or fails with a
/// <see cref="ModelLoadException"/> that names the model and carries the loader's plain cause, while the last good
/// model keeps serving.
/// </summary>
public sealed class CorpusReplayTests
{
    private const string ModelName = "fuzz-replay";

    public static string CorpusDirectory { get; } = Path.Combine(TestModels.Directory, "FuzzCorpus");

    public static TheoryData<string> CorpusFiles()
    {
        var files = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(CorpusDirectory, "*.zip").Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetFileName(file));
        }

        return files;
    }

    [Fact]
    public void Corpus_HoldsTheFilesItsIndexLists()
    {
        string[] indexed = [.. File.ReadLines(Path.Combine(CorpusDirectory, "index.tsv")).Select(static line => line.Split('\t')[0]).Order(StringComparer.Ordinal)];
        string[] files = [.. Directory.EnumerateFiles(CorpusDirectory, "*.zip").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

        Assert.True(files.Length >= 10, $"The corpus has {files.Length} files.");
        Assert.Equal(indexed, files);
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public async Task Reload_WithACorpusFile_LoadsOrFailsNamingTheModelWhileTheLastGoodModelServes(string file)
    {
        byte[] content = [];
        var options = new ModelOptions<ITransformer>
        {
            Source = new DelegateModelSource((_, _) => ValueTask.FromResult<ModelArtifact?>(new ModelArtifact(content, file)), "fuzz corpus"),
            Loader = new MLNetModelLoader(new MLContext(seed: 1)),
            RetryBaseDelay = TimeSpan.Zero,
            LoadTimeout = TimeSpan.FromSeconds(20),
        };
        await using var cache = new ModelCache<ITransformer>(ModelName, options);
        content = File.ReadAllBytes(TestModels.IrisPath);
        ModelVersion good = await cache.ReloadAsync();
        ITransformer serving = cache.GetModel();

        content = File.ReadAllBytes(Path.Combine(CorpusDirectory, file));
        try
        {
            ModelVersion loaded = await cache.ReloadAsync();

            Assert.NotEqual(good.Id, loaded.Id);
            Assert.Equal(ModelCacheState.Ready, cache.State);
        }
        catch (ModelLoadException error)
        {
            Assert.Equal(ModelName, error.ModelName);
            Assert.Contains($"'{ModelName}'", error.Message);
            Assert.True(
                error.InnerException is InvalidDataException or MissingModelComponentException,
                $"The cause is not the loader's own: {error.InnerException}");
            Assert.Contains(file, error.InnerException!.Message);
            Assert.Equal(good.Id, cache.Version?.Id);
            Assert.Same(serving, cache.GetModel());
            Assert.Equal(ModelCacheState.Degraded, cache.State);
        }
    }
}
