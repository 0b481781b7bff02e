using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Redis;

namespace ModelCaching.Routing.Tests.Support;

/// <summary>
/// One instance of the fleet behind the router: a Kestrel app on 127.0.0.1 that joins the fleet for real
/// (<c>AddModelCache().AddRedisFleet(o =&gt; { o.Address = its URL; o.Placement.Templates.Add("tenants"); })</c>) and
/// answers <c>GET|POST /tenants/{id}/predict</c> with "{instance} {model text}[ {body}]" from the model <c>tenant-{id}</c>
/// (template <c>tenants</c>, files <c>{name}.txt</c>). Its fleet timers run on a clock of its own that moves only when it
/// starts (one heartbeat writes its membership entry), so it reports again only after a load: <see cref="KillAsync"/>
/// then leaves the entry behind, as a SIGKILLed process does; <see cref="LeaveAsync"/> stops it as a deployment does. Made
/// with <c>places: false</c> it is a plain member of the fleet (an address, no placed template).
/// </summary>
public sealed class Backend : IAsyncDisposable
{
    public const string Template = "tenants";

    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);
    private WebApplication _app = null!;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private int _requests;
    private int _misdirected;
    private bool _stopped;

    private Backend(string instanceId, string address)
    {
        InstanceId = instanceId;
        Address = address;
    }

    public string InstanceId { get; }

    public string Address { get; }

    /// <summary>Requests this instance answered (421s included).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests this instance answered 421.</summary>
    public int Misdirected => Volatile.Read(ref _misdirected);

    /// <summary>While set, the instance answers 421 Misdirected Request (as an instance that does not own the model).</summary>
    public bool Misdirect { get; set; }

    public IModelCacheProvider Models => _app.Services.GetRequiredService<IModelCacheProvider>();

    public static async Task<Backend> StartAsync(string redis, string fleetName, string instanceId, string modelDirectory, int replicas = 2, bool places = true)
    {
        string address = $"http://127.0.0.1:{FreePort()}";
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls(address);
        builder.Logging.ClearProviders();
        var backend = new Backend(instanceId, address);
        builder.Services.AddSingleton<TimeProvider>(backend._time);
        builder.Services.AddModelCache()
            .AddModelTemplate<string>(Template, t => t
                .FromFile(Path.Combine(modelDirectory, "{name}.txt"))
                .UseLoader((artifact, _) => ValueTask.FromResult(Encoding.UTF8.GetString(artifact.Content.Span))))
            .AddRedisFleet(o =>
            {
                o.Configuration = redis;
                o.FleetName = fleetName;
                o.InstanceId = instanceId;
                o.Address = address;
                o.LoadJitter = TimeSpan.Zero;
                o.HeartbeatInterval = HeartbeatInterval;
                o.MemberTimeToLive = TimeSpan.FromMinutes(10); // the clock never moves: the entry outlives any test
                if (places)
                {
                    o.Placement.Templates.Add(Template);
                    o.Placement.Replicas = replicas;
                }
            });

        WebApplication app = builder.Build();
        backend._app = app;
        app.MapMethods("/tenants/{id}/predict", ["GET", "POST"], backend.PredictAsync);
        await app.StartAsync();
        await backend.JoinAsync();
        return backend;
    }

    /// <summary>Moves the instance's clock one heartbeat at a time until its membership entry is in Redis (bounded).</summary>
    private async Task JoinAsync()
    {
        IModelFleet fleet = _app.Services.GetRequiredService<IModelFleet>();
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (!(await fleet.GetStatusAsync(bound.Token)).Members.Any(m => m.InstanceId == InstanceId))
        {
            _time.Advance(HeartbeatInterval);
            await Task.Delay(10, bound.Token);
        }
    }

    /// <summary>Loads the model on this instance (as a request straight to it would) and waits until its membership entry says so.</summary>
    public async Task LoadAsync(string modelName)
    {
        await Models.GetCache<string>(modelName).GetModelAsync();

        // The entry is written on the instance's clock (debounced after loads, and on each heartbeat): move it until Redis has it.
        IModelFleet fleet = _app.Services.GetRequiredService<IModelFleet>();
        using var bound = new CancellationTokenSource(Eventually.Timeout);
        while (!(await fleet.GetStatusAsync(bound.Token)).Members.Any(m => m.InstanceId == InstanceId && (m.PlacedModels?.Contains(modelName) ?? false)))
        {
            _time.Advance(HeartbeatInterval);
            await Task.Delay(10, bound.Token);
        }
    }

    /// <summary>
    /// Stops the instance as SIGKILL would, as seen from the network: the listener closes and every open connection is
    /// aborted at once, and the membership entry stays in Redis (nothing removes it).
    /// </summary>
    public async Task KillAsync()
    {
        _stopped = true;
        await _app.Services.GetRequiredService<IServer>().StopAsync(new CancellationToken(canceled: true));
    }

    /// <summary>Stops the instance gracefully: the host stops, and the fleet removes its membership entry and announces that it left.</summary>
    public async Task LeaveAsync()
    {
        _stopped = true;
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await _app.StopAsync();
        }

        await _app.DisposeAsync();
    }

    private async Task<IResult> PredictAsync(string id, HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        string modelName = "tenant-" + id;
        if (Misdirect)
        {
            Interlocked.Increment(ref _misdirected);
            return Results.Problem(
                statusCode: StatusCodes.Status421MisdirectedRequest,
                title: "Not an owner",
                detail: $"Instance '{InstanceId}' does not own model '{modelName}'.",
                extensions: new Dictionary<string, object?> { ["owners"] = Array.Empty<string>() });
        }

        string model = await Models.GetCache<string>(modelName).GetModelAsync(context.RequestAborted);
        string body = await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted);
        return Results.Text(body.Length == 0 ? $"{InstanceId} {model}" : $"{InstanceId} {model} {body}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
