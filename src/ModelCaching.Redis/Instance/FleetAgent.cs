using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelCaching.Redis.Diagnostics;
using ModelCaching.Redis.Records;
using StackExchange.Redis;

namespace ModelCaching.Redis.Instance;

/// <summary>
/// One instance's part in the fleet. State over messages: the desired record in Redis is the truth, and a message on the
/// change channel only a hint to read it now. The agent reads the records when a message comes, on a jittered timer,
/// and whenever the connection comes back (it never replays messages), and fires a model's change token when the model
/// serves other content than the desired version; the cache's own pipeline (SHA-256, validators, warm-up, fail-safe)
/// does the rest. It writes the instance's membership entry on a heartbeat and after each fleet load.
/// All of its Redis work runs on one background loop, woken by signals; the hit path never touches it.
/// </summary>
internal sealed class FleetAgent : IAsyncDisposable, IDisposable
{
    private readonly FleetSettings _settings;
    private readonly FleetConnection _connection;
    private readonly FleetStore _store;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, FleetModelEntry> _models = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _changed = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startGate = new();
    private Task? _loop;
    private ITimer? _reconcileTimer;
    private ITimer? _heartbeatTimer;
    private IModelCacheProvider? _provider;
    private int _reconcileAll;
    private int _report;
    private bool _subscribed;
    private long _disconnectedSinceTicks;

    public FleetAgent(FleetSettings settings, FleetConnection connection, FleetStore store, IServiceProvider services, TimeProvider timeProvider, ILogger<FleetAgent> logger)
    {
        _settings = settings;
        _connection = connection;
        _store = store;
        _services = services;
        _time = timeProvider;
        _logger = logger;
        StartedAt = timeProvider.GetUtcNow();
    }

    public FleetSettings Settings => _settings;

    public DateTimeOffset StartedAt { get; }

    /// <summary>Whether the connection to Redis is up.</summary>
    public bool IsConnected => _connection.IsConnected;

    /// <summary>When the connection was lost, or <see langword="null"/> while it is up (or was never made).</summary>
    public DateTimeOffset? DisconnectedSince => Interlocked.Read(ref _disconnectedSinceTicks) is > 0 and long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The models that joined the fleet on this instance (their caches' sources are fleet sources).</summary>
    public IReadOnlyCollection<FleetModelEntry> Models => [.. _models.Values];

    /// <summary>Called by a model's fleet source when the source is made.</summary>
    public FleetModelEntry Join(string model) => _models.GetOrAdd(model, static name => new FleetModelEntry(name));

    /// <summary>Starts the background loop (once); it connects without waiting for Redis.</summary>
    public Task StartAsync()
    {
        lock (_startGate)
        {
            if (_loop is null && !_stopping.IsCancellationRequested)
            {
                FleetLog.Joined(_logger, _settings.FleetName, _settings.InstanceId, string.Join(", ", _models.Keys.Order(StringComparer.Ordinal)));
                _loop = Task.Run(RunAsync);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Stops the loop and removes this instance's membership entry (bounded: Redis may be down).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task? loop;
        lock (_startGate)
        {
            loop = _loop;
            _stopping.Cancel();
        }

        _reconcileTimer?.Dispose();
        _heartbeatTimer?.Dispose();
        if (loop is null)
        {
            return;
        }

        await loop.ConfigureAwait(false);
        if (_connection.IsConnected)
        {
            try
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bound.CancelAfter(TimeSpan.FromSeconds(2));
                await _store.RemoveMemberAsync(_settings.InstanceId, bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or OperationCanceledException or TimeoutException)
            {
                // Its time-to-live removes it.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// For a container disposed synchronously: stops the loop without waiting for it (it ends at its next await) and
    /// leaves the membership entry to its time-to-live.
    /// </summary>
    public void Dispose()
    {
        lock (_startGate)
        {
            _stopping.Cancel();
        }

        _reconcileTimer?.Dispose();
        _heartbeatTimer?.Dispose();
    }

    /// <summary>Asks the loop to read every desired record and write the membership entry now.</summary>
    public void RequestReconcile()
    {
        Volatile.Write(ref _reconcileAll, 1);
        Volatile.Write(ref _report, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks the loop to write the membership entry now.</summary>
    public void RequestReport()
    {
        Volatile.Write(ref _report, 1);
        _wake.Writer.TryWrite(true);
    }

    private async Task RunAsync()
    {
        CancellationToken stopping = _stopping.Token;
        try
        {
            IConnectionMultiplexer multiplexer = await _connection.GetAsync(stopping).ConfigureAwait(false);
            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            if (!multiplexer.IsConnected)
            {
                Interlocked.CompareExchange(ref _disconnectedSinceTicks, _time.GetUtcNow().UtcTicks, 0);
            }

            _reconcileTimer = _time.CreateTimer(static state => ((FleetAgent)state!).OnReconcileDue(), this, NextReconcileDelay(), Timeout.InfiniteTimeSpan);
            _heartbeatTimer = _time.CreateTimer(static state => ((FleetAgent)state!).RequestReport(), this, _settings.HeartbeatInterval, _settings.HeartbeatInterval);
            if (stopping.IsCancellationRequested)
            {
                _reconcileTimer.Dispose(); // stopped while connecting: the stop found no timers to dispose
                _heartbeatTimer.Dispose();
                return;
            }

            RequestReconcile();
            while (await _wake.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                try
                {
                    await WorkAsync(multiplexer, stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested)
                {
                    // The loop outlives any one round's failure; the next message, tick or reconnect tries again.
                    FleetLog.ReconcileFailed(_logger, ex, _settings.FleetName);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (ObjectDisposedException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task WorkAsync(IConnectionMultiplexer multiplexer, CancellationToken stopping)
    {
        if (!multiplexer.IsConnected)
        {
            return; // ConnectionRestored asks for everything again.
        }

        await SubscribeAsync(multiplexer).ConfigureAwait(false);
        bool all = Interlocked.Exchange(ref _reconcileAll, 0) == 1;
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (_changed.TryDequeue(out string? name))
        {
            names.Add(name);
        }

        try
        {
            foreach (FleetModelEntry entry in _models.Values)
            {
                if (_settings.Covers(entry.Name) && (all || names.Contains(entry.Name)))
                {
                    await ReconcileAsync(entry, stopping).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.ReconcileFailed(_logger, ex, _settings.FleetName);
        }

        // A changed desired version is reported at once (the status shows who took it, or had it already).
        if (names.Count > 0)
        {
            Volatile.Write(ref _report, 1);
        }

        if (Interlocked.Exchange(ref _report, 0) == 1)
        {
            try
            {
                FleetMember member = FleetMemberReport.Describe(_settings, StartedAt, _time.GetUtcNow(), _models.Values, CacheOf);
                await _store.WriteMemberAsync(member, stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                FleetLog.ReportFailed(_logger, ex, _settings.FleetName, _settings.InstanceId);
            }
        }
    }

    private async Task SubscribeAsync(IConnectionMultiplexer multiplexer)
    {
        if (_subscribed)
        {
            return;
        }

        try
        {
            // The multiplexer subscribes again by itself after a reconnect; this runs until the first success.
            await multiplexer.GetSubscriber().SubscribeAsync(_settings.Keys.Changes, (_, message) => OnChangeAnnounced(message)).ConfigureAwait(false);
            _subscribed = true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.SubscribeFailed(_logger, ex, _settings.FleetName);
        }
    }

    private async Task ReconcileAsync(FleetModelEntry entry, CancellationToken stopping)
    {
        FleetDesiredVersion? target = await ReadAndAcceptAsync(entry, stopping).ConfigureAwait(false);
        IModelCache? cache = CacheOf(entry);
        if (target is null || cache is null)
        {
            return;
        }

        ModelVersion? served = cache.Version;
        IReadOnlyList<ModelLoadRecord> history = cache.GetHistory();
        if (Reconciliation.NeedsReload(target.Version.Sha256, cache.State, served, history.Count > 0 ? history[^1] : null))
        {
            FleetLog.CatchingUp(_logger, _settings.FleetName, entry.Name, served is null ? "nothing" : entry.VersionIdOf(served.Id), target.Version.VersionId);
            entry.Signal.Fire();
        }
    }

    /// <summary>
    /// For a fetch: the version the model should load. Reads Redis when connected (so a fetch always aims at the newest
    /// desired version, whatever message started it); otherwise, or when the read fails, the last version accepted.
    /// </summary>
    public async Task<FleetDesiredVersion?> ResolveForFetchAsync(FleetModelEntry entry, CancellationToken cancellationToken)
    {
        if (!_connection.IsConnected)
        {
            return entry.Accepted;
        }

        try
        {
            return await ReadAndAcceptAsync(entry, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.ReadDesiredFailed(_logger, ex, _settings.FleetName, entry.Name, entry.Accepted?.Version.VersionId);
            return entry.Accepted;
        }
    }

    private async Task<FleetDesiredVersion?> ReadAndAcceptAsync(FleetModelEntry entry, CancellationToken cancellationToken)
    {
        FleetDesiredVersion? desired = await _store.ReadDesiredAsync(entry.Name, cancellationToken).ConfigureAwait(false);
        string? refusal = desired is null ? null : _settings.Signer.Refusal(desired.Version);
        (FleetDesiredVersion? target, AcceptOutcome outcome) = entry.Accept(desired, refusal);
        switch (outcome)
        {
            case AcceptOutcome.NewlyRefused:
                FleetLog.RecordRefused(_logger, _settings.FleetName, entry.Name, desired!.Version.VersionId, refusal!);
                RequestReport();
                break;
            case AcceptOutcome.NewlyMissing:
                FleetLog.DesiredVersionMissing(_logger, _settings.FleetName, entry.Name, target!.Version.VersionId);
                RequestReport();
                break;
        }

        return target;
    }

    private void OnChangeAnnounced(RedisValue message)
    {
        // On the multiplexer's thread: only note the name and wake the loop.
        if (!message.IsNullOrEmpty && _models.ContainsKey(message.ToString()))
        {
            _changed.Enqueue(message.ToString());
            _wake.Writer.TryWrite(true);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (Interlocked.CompareExchange(ref _disconnectedSinceTicks, _time.GetUtcNow().UtcTicks, 0) == 0)
        {
            FleetLog.ControlPlaneLost(_logger, e.Exception, _settings.FleetName, e.FailureType.ToString());
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (Interlocked.Exchange(ref _disconnectedSinceTicks, 0) != 0)
        {
            FleetLog.ControlPlaneRestored(_logger, _settings.FleetName);
        }

        // Messages sent meanwhile are lost: read every record again rather than replay anything.
        RequestReconcile();
    }

    private void OnReconcileDue()
    {
        RequestReconcile();
        _reconcileTimer?.Change(NextReconcileDelay(), Timeout.InfiniteTimeSpan);
    }

    private TimeSpan NextReconcileDelay()
    {
        double spread = _settings.ReconcileJitter * ((Random.Shared.NextDouble() * 2) - 1);
        return _settings.ReconcileInterval * (1 + spread);
    }

    private IModelCache? CacheOf(FleetModelEntry entry)
    {
        if (entry.Cache is { } known)
        {
            return known;
        }

        _provider ??= _services.GetRequiredService<IModelCacheProvider>();
        if (!_provider.TryGetCache(entry.Name, out IModelCache? cache))
        {
            return null;
        }

        entry.Cache = cache;
        cache.Reloaded += (_, _) => RequestReport();
        return cache;
    }
}
