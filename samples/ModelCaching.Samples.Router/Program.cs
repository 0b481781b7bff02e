// A YARP reverse proxy in front of the sample API's instances: POST /tenants/{id}/predict goes to one of them.
// Run (the instances' addresses as destinations of the "instances" cluster):
//   dotnet run --project samples/ModelCaching.Samples.Router -- \
//     --ReverseProxy:Clusters:instances:Destinations:a:Address=http://127.0.0.1:5081/ \
//     --ReverseProxy:Clusters:instances:Destinations:b:Address=http://127.0.0.1:5082/
// Without placement every instance may serve any tenant, so the cluster spreads requests round-robin.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));

var app = builder.Build();
app.MapGet("/router/health", () => TypedResults.Ok("ready"));
app.MapReverseProxy();
await app.RunAsync();
