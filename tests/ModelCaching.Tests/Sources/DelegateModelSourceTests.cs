using Microsoft.Extensions.Primitives;

namespace ModelCaching.Tests.Sources;

/// <summary><see cref="DelegateModelSource"/> on its own: the delegate decides the content and the change tokens.</summary>
public sealed class DelegateModelSourceTests
{
    [Fact]
    public async Task FetchAsync_passes_the_context_and_token_to_the_delegate_and_returns_its_artifact()
    {
        var context = new ModelFetchContext("m", null, 42);
        using var cts = new CancellationTokenSource();
        var artifact = ModelArtifact.WithoutContent("factory", "v7");
        ModelFetchContext? seenContext = null;
        CancellationToken seenToken = default;
        var source = new DelegateModelSource(
            (c, token) =>
            {
                seenContext = c;
                seenToken = token;
                return ValueTask.FromResult<ModelArtifact?>(artifact);
            },
            "factory");

        ModelArtifact? fetched = await source.FetchAsync(context, cts.Token);

        Assert.Same(artifact, fetched);
        Assert.Same(context, seenContext);
        Assert.Equal(cts.Token, seenToken);
        Assert.Equal("factory", source.Description);
    }

    [Fact]
    public async Task FetchAsync_returns_null_when_the_delegate_says_unchanged()
    {
        var source = new DelegateModelSource((_, _) => ValueTask.FromResult<ModelArtifact?>(null), "factory");

        Assert.Null(await source.FetchAsync(new ModelFetchContext("m", null, 1), CancellationToken.None));
    }

    [Fact]
    public void GetChangeToken_asks_the_producer_each_time()
    {
        int produced = 0;
        var source = new DelegateModelSource(
            (_, _) => ValueTask.FromResult<ModelArtifact?>(null),
            "factory",
            () =>
            {
                produced++;
                return new CancellationChangeToken(CancellationToken.None);
            });

        IChangeToken? first = source.GetChangeToken();
        IChangeToken? second = source.GetChangeToken();

        Assert.NotNull(first);
        Assert.NotSame(first, second);
        Assert.Equal(2, produced);
    }

    [Fact]
    public void GetChangeToken_without_a_producer_is_null()
    {
        var source = new DelegateModelSource((_, _) => ValueTask.FromResult<ModelArtifact?>(null), "factory");

        Assert.Null(source.GetChangeToken());
    }

    [Fact]
    public void A_null_delegate_is_rejected()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new DelegateModelSource(null!, "factory"));

        Assert.Equal("fetch", error.ParamName);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void A_blank_description_is_rejected(string description)
    {
        var error = Assert.Throws<ArgumentException>(() => new DelegateModelSource((_, _) => ValueTask.FromResult<ModelArtifact?>(null), description));

        Assert.Equal("description", error.ParamName);
        Assert.StartsWith("The value cannot be an empty string or composed entirely of whitespace.", error.Message, StringComparison.Ordinal);
    }
}
