namespace ModelCaching.Tests.Sources;

/// <summary><see cref="StreamModelSource"/> on its own: reads the opened stream whole, within the limit, and disposes it.</summary>
public sealed class StreamModelSourceTests
{
    private static readonly ModelFetchContext Context = new("m", null, 1_000_000);

    [Fact]
    public async Task Reads_the_opened_stream_into_an_artifact_named_by_the_description_and_disposes_it()
    {
        var stream = new ChunkedStream(200_000);
        var source = new StreamModelSource(_ => ValueTask.FromResult<Stream>(stream), "blob:models/a.zip");

        ModelArtifact? artifact = await source.FetchAsync(Context, CancellationToken.None);

        Assert.NotNull(artifact);
        Assert.Equal(200_000, artifact.Length);
        Assert.Equal("blob:models/a.zip", artifact.Location);
        Assert.True(artifact.HasContent);
        Assert.NotNull(artifact.ContentHash);
        Assert.True(stream.IsDisposed);
    }

    [Fact]
    public async Task Opens_a_new_stream_for_each_fetch_with_the_callers_token()
    {
        using var cts = new CancellationTokenSource();
        var tokens = new List<CancellationToken>();
        var source = new StreamModelSource(token =>
        {
            tokens.Add(token);
            return ValueTask.FromResult<Stream>(new MemoryStream([1, 2, 3]));
        });

        await source.FetchAsync(Context, cts.Token);
        await source.FetchAsync(Context, cts.Token);

        Assert.Equal([cts.Token, cts.Token], tokens);
        Assert.Equal("stream", source.Description);
    }

    [Fact]
    public async Task A_stream_over_the_limit_fails_and_is_disposed()
    {
        var stream = new ChunkedStream(length: null);
        var source = new StreamModelSource(_ => ValueTask.FromResult<Stream>(stream), "blob:big");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => source.FetchAsync(new ModelFetchContext("m", null, 1000), CancellationToken.None).AsTask());

        Assert.StartsWith("blob:big is larger than the limit of 1,000 bytes", error.Message, StringComparison.Ordinal);
        Assert.True(stream.IsDisposed);
    }

    [Fact]
    public async Task A_delegate_returning_null_is_an_InvalidOperationException()
    {
        var source = new StreamModelSource(_ => ValueTask.FromResult<Stream>(null!), "blob:none");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => source.FetchAsync(Context, CancellationToken.None).AsTask());

        Assert.Equal("The stream delegate of blob:none returned null.", error.Message);
    }

    [Fact]
    public void Has_no_change_token()
    {
        var source = new StreamModelSource(_ => ValueTask.FromResult<Stream>(new MemoryStream()));

        Assert.Null(source.GetChangeToken());
    }

    [Fact]
    public void A_null_delegate_is_rejected()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new StreamModelSource(null!));

        Assert.Equal("open", error.ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void A_blank_description_is_rejected(string description)
    {
        var error = Assert.Throws<ArgumentException>(() => new StreamModelSource(_ => ValueTask.FromResult<Stream>(new MemoryStream()), description));

        Assert.Equal("description", error.ParamName);
        Assert.StartsWith("The value cannot be an empty string or composed entirely of whitespace.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_description_is_rejected()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new StreamModelSource(_ => ValueTask.FromResult<Stream>(new MemoryStream()), null!));

        Assert.Equal("description", error.ParamName);
    }
}
