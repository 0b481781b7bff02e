namespace ModelCaching.Tests.Sources;

public sealed class SnapshotArgumentTests
{
    [Fact]
    public void ModelVersion_AndFetchContext_RefuseMissingNames_WithArgumentExceptions()
    {
        Assert.Throws<ArgumentNullException>(() => new ModelVersion(null!, 1, "file:a", DateTimeOffset.UnixEpoch, 0));
        Assert.Throws<ArgumentException>(() => new ModelVersion("", 1, "file:a", DateTimeOffset.UnixEpoch, 0));
        Assert.Throws<ArgumentNullException>(() => new ModelVersion("v1", 1, null!, DateTimeOffset.UnixEpoch, 0));
        Assert.Throws<ArgumentNullException>(() => new ModelFetchContext(null!, null, 1));

        var context = new ModelFetchContext("m", new ModelVersion("v1", 1, "file:a", DateTimeOffset.UnixEpoch, 10), 1);
        Assert.Equal("v1", context.Current!.Id);
    }
}
