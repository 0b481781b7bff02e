namespace ModelCaching.Samples.WebApi.Tests.Fleet;

/// <summary>
/// The tests that start sample processes (three each) run one class at a time: on a 2-core machine, six instances
/// starting together only make every bound tighter.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SampleProcessCollection
{
    public const string Name = "Sample processes";
}
