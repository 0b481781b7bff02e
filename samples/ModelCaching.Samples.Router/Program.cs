// A YARP reverse proxy in front of the sample API's fleet: POST /tenants/{id}/predict goes to an instance.
//
// With placement (the instances place the tenants template), configure "ModelCacheRouting" (ModelCaching.Routing): the
// router reads the fleet's live instances from Redis and sends each tenant to an instance that owns it, preferring one
// that has it loaded, and to the other owner when one fails. Point the route at the cluster "modelcache", which the
// router provides:
//   dotnet run --project samples/ModelCaching.Samples.Router -- \
//     --ModelCacheRouting:Configuration=localhost:6379 --ModelCacheRouting:FleetName=demo \
//     --ModelCacheRouting:ModelNameFormat=tenant-{id} --ReverseProxy:Routes:tenants:ClusterId=modelcache
//
// Without placement every instance may serve any tenant: list them as destinations of the "instances" cluster, which
// YARP spreads round-robin:
//   dotnet run --project samples/ModelCaching.Samples.Router -- \
//     --ReverseProxy:Clusters:instances:Destinations:a:Address=http://127.0.0.1:5081/ \
//     --ReverseProxy:Clusters:instances:Destinations:b:Address=http://127.0.0.1:5082/
var builder = WebApplication.CreateBuilder(args);
IReverseProxyBuilder proxy = builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"));
IConfigurationSection routing = builder.Configuration.GetSection("ModelCacheRouting");
bool placed = routing.Exists();
if (placed)
{
    proxy.AddModelCacheRouting(routing);
}

var app = builder.Build();
app.MapGet("/router/health", () => TypedResults.Ok("ready"));
if (placed)
{
    app.MapReverseProxy(pipeline => pipeline.UseModelCacheRouting());
}
else
{
    app.MapReverseProxy();
}

await app.RunAsync();
