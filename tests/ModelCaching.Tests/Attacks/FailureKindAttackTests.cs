using System.Reflection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Attacks;

/// <summary>
/// Wrapped and unknown failures from a loader (attacks on issue 17 item 7's fix): only content can be bad content, and
/// content that served is never remembered as bad, whatever wraps the failure.
/// </summary>
public sealed class FailureKindAttackTests
{
    private sealed class VendorException(string message) : Exception(message);

    public static TheoryData<string, bool> Failures => new()
    {
        { "custom", false },
        { "aggregate-io", false },
        { "aggregate-io-and-invalid-data", false },
        { "aggregate-empty", false },
        { "target-invocation-io", false },
        { "target-invocation-invalid-data", true },
        { "aggregate-invalid-data", true },
        { "file-not-found", false },
    };

    private static Exception Make(string kind) => kind switch
    {
        "custom" => new VendorException("vendor runtime failed"),
        "aggregate-io" => new AggregateException(new IOException("disk")),
        "aggregate-io-and-invalid-data" => new AggregateException(new InvalidDataException("bad"), new IOException("disk")),
        "aggregate-empty" => new AggregateException(),
        "target-invocation-io" => new TargetInvocationException(new IOException("disk")),
        "target-invocation-invalid-data" => new TargetInvocationException(new InvalidDataException("bad")),
        "aggregate-invalid-data" => new AggregateException(new InvalidDataException("bad")),
        "file-not-found" => new FileNotFoundException("gone", "model.zip"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task AFirstLoadFailingWithAWrappedFailure_IsRememberedAsBadContentOnlyWhenTheContentCausedIt(string kind, bool content)
    {
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        int calls = 0;
        factory.Loader.BeforeLoad = _ => Interlocked.Increment(ref calls) == 1 ? throw Make(kind) : Task.CompletedTask;

        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        factory.Time.Advance(TimeSpan.FromMinutes(10));
        Exception? second = await Record.ExceptionAsync(async () => await cache.GetModelAsync());

        if (content)
        {
            Assert.IsType<ModelLoadException>(second);
            Assert.Equal(1, factory.Loader.Loads);
        }
        else
        {
            Assert.Null(second);
            Assert.Equal(2, factory.Loader.Loads);
        }
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task ContentThatServed_IsNeverRememberedAsBad_WhateverWrapsTheFailureOfItsNextLoad(string kind, bool content)
    {
        _ = content;
        var factory = new CacheFactory();
        await using ModelCache<FakeModel> cache = factory.Create();
        await cache.GetModelAsync();
        cache.Invalidate();
        int calls = 0;
        factory.Loader.BeforeLoad = _ => Interlocked.Increment(ref calls) == 1 ? throw Make(kind) : Task.CompletedTask;

        await Assert.ThrowsAsync<ModelLoadException>(async () => await cache.GetModelAsync());
        factory.Time.Advance(TimeSpan.FromMinutes(10));
        FakeModel model = await cache.GetModelAsync();

        Assert.Equal("v1", model.Content);
        Assert.Equal(3, factory.Loader.Loads);
    }
}
