using System.Text;
using ModelCaching.FailSafe;
using ModelCaching.Loading;
using ModelCaching.Tests.Support;
using static ModelCaching.Tests.Loading.Steps.StepTestKit;

namespace ModelCaching.Tests.Loading.Steps;

/// <summary><see cref="IntegrityStep{TModel}"/> on its own: the size limit and the expected SHA-256.</summary>
public sealed class IntegrityStepTests
{
    private readonly ModelOptions<FakeModel> _settings = new() { DrainDelay = TimeSpan.Zero };

    [Fact]
    public void It_judges_the_content_and_names_its_step()
    {
        var step = new IntegrityStep<FakeModel>();
        LoadContext<FakeModel> context = Context(artifact: Artifact("v1"), pipeline: Pipeline(settings: _settings));

        Assert.True(step.Run(context));

        Assert.Equal(ContentCheck.Integrity, step.Check);
        Assert.Equal("checking integrity", context.Attempt.Step);
    }

    [Fact]
    public void CheckIntegrity_rejects_content_over_the_size_limit()
    {
        _settings.MaxArtifactBytes = 3;

        var error = Assert.Throws<InvalidDataException>(() => Check(Artifact("four")));

        Assert.Equal("memory:test is larger than the limit of 3 bytes (at least 4 bytes). Raise ModelOptions.MaxArtifactBytes if the model really is this large.", error.Message);
    }

    [Fact]
    public void CheckIntegrity_accepts_content_exactly_at_the_size_limit()
    {
        _settings.MaxArtifactBytes = 4;

        Check(Artifact("four"));
    }

    [Fact]
    public void CheckIntegrity_rejects_a_SHA256_other_than_the_one_in_the_options()
    {
        string expected = Sha256("other");
        _settings.ExpectedSha256 = expected.ToUpperInvariant();

        var error = Assert.Throws<InvalidDataException>(() => Check(Artifact("v1")));

        Assert.Equal($"SHA-256 mismatch: expected {expected}, the content has {Sha256("v1")}", error.Message);
    }

    [Fact]
    public void CheckIntegrity_rejects_a_SHA256_other_than_the_one_in_the_sidecar()
    {
        string expected = Sha256("other");
        ModelArtifact artifact = new(Encoding.UTF8.GetBytes("v1"), "memory:test", expectedSha256: expected);

        var error = Assert.Throws<InvalidDataException>(() => Check(artifact));

        Assert.Equal($"SHA-256 mismatch: expected {expected}, the content has {Sha256("v1")}", error.Message);
    }

    [Fact]
    public void CheckIntegrity_accepts_matching_SHA256s_from_options_and_sidecar_in_any_case()
    {
        _settings.ExpectedSha256 = Sha256("v1").ToUpperInvariant();
        ModelArtifact artifact = new(Encoding.UTF8.GetBytes("v1"), "memory:test", expectedSha256: Sha256("v1"));

        Check(artifact);
    }

    [Fact]
    public void CheckIntegrity_skips_the_SHA256_of_content_without_bytes()
    {
        _settings.ExpectedSha256 = Sha256("v1");

        Check(ModelArtifact.WithoutContent("memory:test"));
    }

    private void Check(ModelArtifact artifact) => new IntegrityStep<FakeModel>().Run(Context(artifact: artifact, pipeline: Pipeline(settings: _settings)));
}
