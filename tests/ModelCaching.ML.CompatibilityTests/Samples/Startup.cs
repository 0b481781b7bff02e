// Registration as in Microsoft.Extensions.ML's documentation samples (Web API and Azure Functions).
// Migrated by changing only the `using` line below.
using System;
using Microsoft.Extensions.DependencyInjection;
using ModelCaching.ML.Compatibility; // was: using Microsoft.Extensions.ML;

namespace ModelCaching.ML.CompatibilityTests.Samples;

public static class Startup
{
    public static void ConfigureServices(IServiceCollection services, string modelPath)
    {
        services.AddControllers();
        services.AddPredictionEnginePool<IrisData, IrisPrediction>()
            .FromFile(modelName: "IrisModel", filePath: modelPath, watchForChanges: true);
    }

    public static void ConfigureServicesFromUri(IServiceCollection services, string modelUri)
    {
        services.AddPredictionEnginePool<IrisData, IrisPrediction>()
            .FromUri(
                modelName: "IrisModel",
                uri: modelUri,
                period: TimeSpan.FromMinutes(1));
    }
}
