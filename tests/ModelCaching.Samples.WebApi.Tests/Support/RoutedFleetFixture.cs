using ModelCaching.FleetHarness;

namespace ModelCaching.Samples.WebApi.Tests.Support;

/// <summary>
/// The harness's fleet for the process tests: 1,000 tenant models in a temporary directory, and a <see cref="RoutedFleet"/>
/// (redis-server, sample instances, the router) started from this project's builds of the sample and the router.
/// </summary>
internal static class RoutedFleetFixture
{
    /// <summary>Each instance's tenant budget in the tests: 4 MiB, about 280 of the 1,000 models (14.7 KB each).</summary>
    public const long TenantBudgetBytes = 4L * 1024 * 1024;

    /// <summary>The router's build output, beside the sample's (samples/ModelCaching.Samples.Router/bin/{configuration}/{framework}).</summary>
    public static string RouterAssemblyPath
    {
        get
        {
            string sample = SampleProcess.SampleAssemblyPath;
            DirectoryInfo framework = new FileInfo(sample).Directory!;
            DirectoryInfo samples = framework.Parent!.Parent!.Parent!.Parent!;
            return Path.Combine(samples.FullName, "ModelCaching.Samples.Router", "bin", framework.Parent.Name, framework.Name, "ModelCaching.Samples.Router.dll");
        }
    }

    /// <summary>Writes the tenant models into <paramref name="directory"/>.</summary>
    public static void WriteTenants(string directory, int count = 1000) =>
        TenantModels.Write(directory, count, Path.Combine(AppContext.BaseDirectory, "Models", "taxi-fare.zip"));

    public static RoutedFleetOptions Options(string tenantDirectory, bool placement, int replicas = 2) =>
        new(SampleProcess.SampleAssemblyPath, RouterAssemblyPath, tenantDirectory, placement, replicas, TenantBudgetBytes);
}
