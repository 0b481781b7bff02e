using Azure.Storage.Blobs;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Azure.Tests.Support;

namespace ModelCaching.Azure.Tests;

/// <summary>The options' checks, and the polling clock with its jitter (no request is made: these need no emulator).</summary>
public sealed class AzureBlobModelSourceOptionsTests
{
    private static BlobClient Blob() => new BlobServiceClient("UseDevelopmentStorage=true").GetBlobContainerClient("models").GetBlobClient("taxi.zip");

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void PollingJitter_OutsideZeroToOne_IsRefusedAtOnce(double jitter)
    {
        var options = new AzureBlobModelSourceOptions();

        ArgumentOutOfRangeException failure = Assert.Throws<ArgumentOutOfRangeException>(() => options.PollingJitter = jitter);

        Assert.StartsWith("The polling jitter must be between 0 and 1.", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0.1, options.PollingJitter);
    }

    [Fact]
    public void PollingInterval_NotPositive_IsRefusedAtOnce()
    {
        var options = new AzureBlobModelSourceOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.PollingInterval = TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromMinutes(5), options.PollingInterval);
    }

    [Fact]
    public void Source_WithBothAVersionAndASnapshot_IsRefused()
    {
        ArgumentException failure = Assert.Throws<ArgumentException>(() => new AzureBlobModelSource(Blob(), new AzureBlobModelSourceOptions { VersionId = "v", Snapshot = "s" }));

        Assert.StartsWith("The Azure blob model source: set VersionId or Snapshot, not both.", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Source_WithoutAPollingInterval_HasNoChangeToken()
    {
        using var source = new AzureBlobModelSource(Blob(), new AzureBlobModelSourceOptions { PollingInterval = null });

        Assert.Null(source.GetChangeToken());
    }

    [Fact]
    public void Poll_WithJitter_FiresWithinTheJitteredWindow_AndNotBefore()
    {
        var clock = BlobModels.NewClock();
        var interval = TimeSpan.FromMinutes(10);
        using var source = new AzureBlobModelSource(Blob(), new AzureBlobModelSourceOptions { PollingInterval = interval, PollingJitter = 0.5 }, clock);

        IChangeToken token = source.GetChangeToken()!;
        clock.Advance(interval * 0.49);
        Assert.False(token.HasChanged);
        clock.Advance(interval * 1.02); // now 1.51 intervals: past the latest jittered delay
        Assert.True(token.HasChanged);
    }

    [Fact]
    public void Dispose_StopsPolling()
    {
        var clock = BlobModels.NewClock();
        var source = new AzureBlobModelSource(Blob(), new AzureBlobModelSourceOptions { PollingInterval = TimeSpan.FromMinutes(1), PollingJitter = 0 }, clock);
        IChangeToken token = source.GetChangeToken()!;

        source.Dispose();
        source.Dispose();
        clock.Advance(TimeSpan.FromMinutes(2));

        Assert.False(token.HasChanged);
        Assert.Null(source.GetChangeToken());
    }

    [Fact]
    public void Description_AndBlobUri_NeverCarryASas()
    {
        BlobClient withSas = new(new Uri("https://myaccount.blob.core.windows.net/models/taxi.zip?sv=2025-01-05&sp=r&sig=c2VjcmV0"));
        using var source = new AzureBlobModelSource(withSas);

        Assert.Equal("azure-blob://myaccount/models/taxi.zip", source.Description);
        Assert.Equal("https://myaccount.blob.core.windows.net/models/taxi.zip", source.BlobUri.ToString());
    }
}
