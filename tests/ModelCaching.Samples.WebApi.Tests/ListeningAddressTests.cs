using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using ModelCaching.Samples.WebApi.Tests.Support;

namespace ModelCaching.Samples.WebApi.Tests;

/// <summary>
/// The sample listens on http://localhost:5080 from its appsettings.json (<c>Urls</c>), not only through its launch profile,
/// so <c>dotnet run --no-launch-profile</c> and <c>dotnet ModelCaching.Samples.WebApi.dll</c> answer on the documented port;
/// <c>--urls</c> or the <c>URLS</c> environment variable move it (three instances on one machine).
/// </summary>
public sealed class ListeningAddressTests
{
    [Fact]
    public async Task WithoutLaunchProfileOrUrls_TheAppsettingsAddressIsHttpLocalhost5080()
    {
        string modelDirectory = Directory.CreateTempSubdirectory("modelcaching-urls-").FullName;
        string? urls = null;
        try
        {
            // The sample's own output directory: its appsettings.json, as `dotnet ModelCaching.Samples.WebApi.dll` reads it.
            string contentRoot = Path.GetDirectoryName(SampleProcess.SampleAssemblyPath)!;
            await using WebApplication app = TaxiFareApp.Build(
                [$"--contentRoot={contentRoot}", "--environment=Production", $"--Sample:ModelDirectory={modelDirectory}"],
                builder => urls = builder.Configuration[WebHostDefaults.ServerUrlsKey]);
        }
        finally
        {
            Directory.Delete(modelDirectory, recursive: true);
        }

        Assert.Equal("http://localhost:5080", urls);
    }

    [Fact]
    public async Task TheUrlsEnvironmentVariable_MovesTheProcessToAnotherPort()
    {
        await using SampleProcess instance = SampleProcess.Start(new Dictionary<string, string>(), urlsFromEnvironment: true);
        await instance.WaitUntilReadyAsync();

        // It answers on the port URLS named (a free one, never 5080), with no --urls on its command line.
        using HttpResponseMessage response = await instance.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(5080, instance.Port);
    }
}
