// The taxi-fare prediction API. Run: dotnet run --project samples/ModelCaching.Samples.WebApi
// Then: curl http://localhost:5080/  (the endpoints), and see docs/getting-started.md.
using ModelCaching.Samples.WebApi;

await TaxiFareApp.Build(args).RunAsync();
