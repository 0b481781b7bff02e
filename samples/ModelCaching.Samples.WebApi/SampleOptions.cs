namespace ModelCaching.Samples.WebApi;

/// <summary>Where the sample keeps the model it serves. Binds from the <c>Sample</c> configuration section.</summary>
public sealed class SampleOptions
{
    /// <summary>The configuration section: <c>Sample</c>.</summary>
    public const string SectionName = "Sample";

    /// <summary>The name the taxi-fare model is registered under: <c>taxi-fare</c>.</summary>
    public const string ModelName = "taxi-fare";

    /// <summary>The file name of the served model inside <see cref="ModelDirectory"/>.</summary>
    public const string ModelFileName = "taxi-fare.zip";

    /// <summary>
    /// The directory watched for the served model (<c>taxi-fare.zip</c>). Publishing a new version means
    /// replacing that file atomically. Empty means <c>model-store</c> next to the application's binaries.
    /// </summary>
    public string? ModelDirectory { get; set; }

    /// <summary>
    /// Whether the served file is watched, so replacing it reloads the model. Off, only an explicit reload
    /// (<c>POST /models/taxi-fare/reload</c>) or the fleet picks up a new file.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool WatchModelFile { get; set; } = true;

    /// <summary>
    /// A model published over the served file at every start, so the sample runs with no setup and each run
    /// begins from the same version. Relative paths are resolved against the application's binaries. Empty
    /// keeps whatever file is in <see cref="ModelDirectory"/> (set it empty when you publish your own models there).
    /// </summary>
    public string? SeedModel { get; set; } = "Models/taxi-fare.zip";

    /// <summary>
    /// The directory of the tenants' models (<c>tenant-{id}.zip</c>), served by <c>POST /tenants/{id}/predict</c>.
    /// Relative paths are resolved against the application's binaries.
    /// <value>The default is <c>Models/tenants</c>, where the three bundled tenants (acme, globex, initech) are copied.</value>
    /// </summary>
    public string TenantModelDirectory { get; set; } = "Models/tenants";

    /// <summary>The full path of <see cref="TenantModelDirectory"/>.</summary>
    public string ResolveTenantModelDirectory() => Path.GetFullPath(TenantModelDirectory, AppContext.BaseDirectory);

    /// <summary>The full path of <see cref="ModelDirectory"/>.</summary>
    public string ResolveModelDirectory() => string.IsNullOrWhiteSpace(ModelDirectory)
        ? Path.Combine(AppContext.BaseDirectory, "model-store")
        : Path.GetFullPath(ModelDirectory);

    /// <summary>The full path of the served model file.</summary>
    public string ResolveModelPath() => Path.Combine(ResolveModelDirectory(), ModelFileName);
}
