using Microsoft.Extensions.DependencyInjection;
using ModelCaching.Tests.Support;

namespace ModelCaching.Tests.Http;

/// <summary>Addresses are redacted in every message: user information, query strings (SAS tokens) and fragments never show.</summary>
public sealed class AddressRedactionTests
{
    [Theory]
    [InlineData("ftp://files.example.com/models/m.zip?sig=SECRET")]
    [InlineData("file:///models/m.zip?sig=SECRET")]
    public void FromHttp_WithANonHttpScheme_ThrowsWithoutTheSecret(string address)
    {
        var services = new ServiceCollection();
        IModelCacheBuilder builder = services.AddModelCache();

        ArgumentException error = Assert.ThrowsAny<ArgumentException>(() =>
        {
            builder.AddModel<FakeModel>("remote", m => m.FromHttp(address).UseLoader(new FakeLoader()));
            using ServiceProvider provider = services.BuildServiceProvider();
            _ = provider.GetRequiredKeyedService<IModelCache<FakeModel>>("remote");
        });

        Assert.DoesNotContain("SECRET", error.ToString());
        Assert.DoesNotContain("sig=", error.ToString());
    }

    [Fact]
    public void FromHttp_WithPlainHttpAndUserInformation_ThrowsWithoutThePassword()
    {
        var options = new HttpModelSourceOptions { Uri = new Uri("http://user:p4ssw0rd@models.example.com/m.zip?token=SECRET") };

        ArgumentException error = Assert.Throws<ArgumentException>(() => new HttpModelSource(options));

        Assert.DoesNotContain("p4ssw0rd", error.Message);
        Assert.DoesNotContain("SECRET", error.Message);
        Assert.Contains("models.example.com/m.zip", error.Message);
    }

    [Theory]
    [InlineData("https://user:pw@host.example/a/b.zip?sv=1&sig=SECRET#frag", "https://host.example/a/b.zip?…")]
    [InlineData("not an address?sig=SECRET", "not an address?…")]
    [InlineData("ftp://u:SECRET@h/x", "ftp://h/x")]
    [InlineData("https://host.example/plain.zip", "https://host.example/plain.zip")]
    public void Redact_RemovesUserInformationQueryAndFragment(string address, string expected) =>
        Assert.Equal(expected, AddressRedaction.Redact(address));
}
