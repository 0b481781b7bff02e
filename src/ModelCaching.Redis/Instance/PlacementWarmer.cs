using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelCaching.Redis.Diagnostics;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// Placement's loads ahead of requests: a name that moves here from an instance that no longer owns it (a handoff), or
/// whose holder died or left (<see cref="PlacementDepartures"/>). Bounded, because a join or a death can hand an instance
/// hundreds of names at once:
/// <list type="bullet">
/// <item>at most <see cref="Slots"/> (half of <see cref="ModelCacheOptions.MaxConcurrentLoads"/>, at least one) load at
/// once, so a request's own load is not queued behind the rest (the load limiter is first come, first served);</item>
/// <item>a warm whose turn comes when the placed models' budget has no room for a model of the average size, counting the
/// warms still loading, is skipped (event 406): it would evict a model that serves on speculation;</item>
/// <item>a warm whose turn comes after the name moved on, a request loaded it, or the host began to stop ends quietly;
/// so does one whose load the host's stop cut short.</item>
/// </list>
/// </summary>
internal sealed class PlacementWarmer(FleetSettings settings, IServiceProvider services, ILogger logger)
{
    private readonly ConcurrentDictionary<string, byte> _warming = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots = new(SlotsFor(services)); // never disposed: no wait handle is taken
    private readonly Lock _budget = new();
    private int _loading; // warms past the budget check, still loading (under _budget)
    private bool _stopped;

    /// <summary>How many warms may load at once.</summary>
    public int Slots { get; } = SlotsFor(services);

    /// <summary>How many warms are loading or waiting for their turn.</summary>
    public int Count => _warming.Count;

    public bool IsWarming(string name) => _warming.ContainsKey(name);

    /// <summary>The host stops: the warms still waiting for their turn end without loading; a load under way finishes, or ends quietly when the provider's disposal cuts it short.</summary>
    public void Stop() => Volatile.Write(ref _stopped, true);

    /// <summary>Loads <paramref name="name"/>, which <paramref name="placement"/> owns, ahead of its requests, unless it is being warmed already.</summary>
    public void Start(InstancePlacement placement, string name, string from)
    {
        if (_warming.TryAdd(name, 0))
        {
            FleetLog.PlacementWarming(logger, settings.FleetName, name, from);
            _ = WarmAsync(placement, name, from);
        }
    }

    private static int SlotsFor(IServiceProvider services) =>
        Math.Max(1, (services.GetService<IOptions<ModelCacheOptions>>()?.Value.MaxConcurrentLoads ?? Environment.ProcessorCount) / 2);

    private async Task WarmAsync(InstancePlacement placement, string name, string from)
    {
        bool slot = false, loading = false;
        try
        {
            await _slots.WaitAsync().ConfigureAwait(false);
            slot = true;
            if (Volatile.Read(ref _stopped) || (placement.View is { } view && !view.Owns(name)) || placement.IsServingHere(name))
            {
                return; // while it waited: the instance stopped, the name moved on, or a request loaded it
            }

            if (!TryCountLoad(placement, name))
            {
                return;
            }

            loading = true;
            IModelCache cache = placement.Provider.GetCache(name);
            await cache.ReloadAsync(force: false, requestedBy: $"placement: taking over from {from}").ConfigureAwait(false);
            placement.Metrics?.Warmed();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not owned any more, no template serves it here, or the load failed: a request loads it (or is refused). A load
            // cut short because the host stops (the provider's disposal ends the loads under way) is the stop, not a failure.
            if (!Volatile.Read(ref _stopped))
            {
                FleetLog.PlacementWarmFailed(logger, ex, settings.FleetName, name);
            }
        }
        finally
        {
            if (loading)
            {
                lock (_budget)
                {
                    _loading--;
                }
            }

            if (slot)
            {
                _slots.Release();
            }

            _warming.TryRemove(name, out _);
        }
    }

    // Whether a warm may load: the placed models' budget has room for one more model of the average size, counting the
    // warms that passed this check and still load (a load reserves its memory only after its fetch, so warms running
    // together would all see the same room). Check and count under one lock, or two warms pass on the same room.
    private bool TryCountLoad(InstancePlacement placement, string name)
    {
        lock (_budget)
        {
            if (placement.Memory() is ({ } used, { } limit) && placement.Loaded() is var loaded
                && used + ((_loading + 1) * (loaded.Count > 0 ? used / loaded.Count : 0)) > limit)
            {
                // No room here. Its first request loads it, and evicts by the budget's policy then.
                FleetLog.PlacementWarmSkipped(logger, settings.FleetName, name, used, limit);
                return false;
            }

            _loading++;
            return true;
        }
    }
}
