using ModelCaching.Onnx.Tests.Support;

namespace ModelCaching.Onnx.Tests.Inference;

/// <summary>
/// A pooled runner's buffers are reused by the next caller. Nothing the previous caller wrote, or the outputs it got,
/// ever reaches the next one: an input not written since the rental stops <see cref="OnnxInference.Run"/>, a span
/// handed out by <see cref="OnnxInference.Input{T}"/> starts cleared, and outputs are readable only after this
/// rental's own run. On breast-cancer-multiclass.onnx of ../shared/models (inputs Label string [1,1], Features float [1,8]).
/// </summary>
public sealed class PreviousCallerTests : IDisposable
{
    private static readonly float[] Nines = [9f, 9f, 9f, 9f, 9f, 9f, 9f, 9f];

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Score_AnEmptyRequestAfterAnother_NeverGetsThePreviousCallersScores()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        float[] firstScores = ScoreAsTheOldExampleDid(cache, Nines);

        float[] secondScores = ScoreAsTheOldExampleDid(cache, []);

        Assert.Equal(TestModels.RawScores(TestModels.Version1, Nines), firstScores);
        Assert.NotEqual(firstScores, secondScores);
        Assert.Equal(TestModels.RawScores(TestModels.Version1, new float[8]), secondScores);
    }

    [Fact]
    public async Task Input_WithSevenValuesWritten_LeavesTheEighthAtZero_NotThePreviousCallers()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        float[] seven = [5f, 1f, 1f, 1f, 2f, 1f, 3f];

        float[] scores = ScoreAsTheOldExampleDid(cache, seven);

        Assert.Equal(TestModels.RawScores(TestModels.Version1, [.. seven, 0f]), scores);
    }

    [Fact]
    public async Task Input_AfterAnotherCallersRental_HoldsNoneOfTheirValues()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);

        using OnnxInference inference = cache.Rent();

        Assert.Equal(new float[8], inference.Input<float>("Features").ToArray());
    }

    [Fact]
    public async Task Run_WhenANumericInputWasNotWrittenSinceTheRental_ThrowsNamingTheInput()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(inference.Run);

        Assert.Equal(
            "Model 'cancer': input 'Features' was not written since this inference was rented. Write every input before Run() (SetInput, Input<T> or SetString): a pooled runner's buffers still hold the previous caller's values.",
            error.Message);
    }

    [Fact]
    public async Task Run_WhenAStringInputWasNotWrittenSinceTheRental_ThrowsNamingTheInput()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        using OnnxInference inference = cache.Rent();
        TestModels.Features.CopyTo(inference.Input<float>("Features"));

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(inference.Run);

        Assert.Contains("input 'Label' was not written since this inference was rented", error.Message);
    }

    [Fact]
    public async Task Output_BeforeThisRentalsRun_ThrowsInsteadOfGivingThePreviousCallersScores()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        using OnnxInference inference = cache.Rent();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => inference.Output<float>("Score.onnx").ToArray());

        Assert.Equal(
            "Model 'cancer': output 'Score.onnx' is read before Run() in this inference; it would hold the previous caller's results.",
            error.Message);
    }

    [Fact]
    public async Task Inputs_WrittenOnce_StayWrittenForTheWholeRental()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        TestModels.Features.CopyTo(inference.Input<float>("Features"));
        inference.Run();

        inference.Input<float>("Features")[0] = 9f;
        inference.Run();

        float[] expected = [9f, .. TestModels.Features[1..]];
        Assert.Equal(TestModels.RawScores(TestModels.Version1, expected), inference.Output<float>("Score.onnx").ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    public async Task SetInput_WithTheWrongNumberOfValues_ThrowsNamingTheInputAndBothLengths(int given)
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);

        ArgumentException error = Assert.Throws<ArgumentException>(() => inference.SetInput<float>("Features", new float[given]));

        Assert.Equal($"Model 'cancer': input 'Features' takes 8 values (shape [1,8]), but {given} were given. (Parameter 'values')", error.Message);
        Assert.Equal("values", error.ParamName);
        InvalidOperationException notWritten = Assert.Throws<InvalidOperationException>(inference.Run);
        Assert.Contains("input 'Features' was not written", notWritten.Message);
    }

    [Fact]
    public async Task SetInput_WithExactlyTheInputsLength_GivesTheScoresOfARawSession()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        ScoreAsTheOldExampleDid(cache, Nines);
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);

        inference.SetInput<float>("Features", TestModels.Features);
        inference.Run();

        Assert.Equal(TestModels.RawScores(TestModels.Version1), inference.Output<float>("Score.onnx").ToArray());
    }

    [Fact]
    public async Task SetInput_OfTheWrongElementType_ThrowsNamingTheInputAndBothTypes()
    {
        await using ModelCache<OnnxModel> cache = await Serving();
        using OnnxInference inference = cache.Rent();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => inference.SetInput<double>("Features", new double[8]));

        Assert.Equal("Model 'cancer': input 'Features' has elements of type Float (Single), not Double.", error.Message);
    }

    /// <summary>The /score handler of README.md and docs/onnx.md before issue 17: a copy into the span, unchecked.</summary>
    private static float[] ScoreAsTheOldExampleDid(IModelCache<OnnxModel> cache, float[] features)
    {
        using OnnxInference inference = cache.Rent();
        inference.SetString("Label", TestModels.Label);
        features.CopyTo(inference.Input<float>("Features"));
        inference.Run();
        return inference.Output<float>("Score.onnx").ToArray();
    }

    private string Path() => _directory.File("model.onnx");

    private async Task<ModelCache<OnnxModel>> Serving()
    {
        await File.WriteAllBytesAsync(Path(), TestModels.Version1);
        ModelCache<OnnxModel> cache = OnnxCaches.Create(Path());
        await cache.GetModelAsync();
        return cache;
    }
}
