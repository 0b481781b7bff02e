using System.Diagnostics.Metrics;
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
/// does the rest. It writes the instance's membership entry on a heartbeat and after each fleet load, and announces on
/// the members-changed channel that it joined (after its entry is first written, and again after each reconnect) and
/// that it left (after a graceful stop removed an entry it wrote), so routers and placing instances read the membership
/// at once.
/// All of its Redis work runs on one background loop, woken by <see cref="FleetRequests"/>; the hit path never touches
/// it. This class is the loop's lifetime, the connection's events and the timers; <see cref="FleetModels"/> is the work
/// per model.
/// </summary>
internal sealed class FleetAgent : IAsyncDisposable, IDisposable
{
    private readonly FleetSettings _settings;
    private readonly FleetConnection _connection;
    private readonly FleetStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FleetRequests _requests = new();
    private readonly FleetModels _models;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _startGate = new();
    private Task? _loop;
    private ITimer? _reconcileTimer;
    private ITimer? _heartbeatTimer;
    private bool _subscribed;
    private long _disconnectedSinceTicks;
    private long _fullRounds;
    private readonly FleetMetrics _metrics;
    private readonly InstancePlacement _placement;
    private readonly DebouncedReport _debouncedReport;
    private volatile bool _joinAnnounced; // cleared at a reconnect: Redis may have come back empty, the entry is written anew
    private bool _memberWritten; // a process that never wrote an entry (a publisher, an admin tool) announces no leave

    public FleetAgent(FleetSettings settings, FleetConnection connection, FleetStore store, IServiceProvider services, TimeProvider timeProvider, ILogger<FleetAgent> logger)
    {
        _settings = settings;
        _connection = connection;
        _store = store;
        _time = timeProvider;
        _logger = logger;
        _placement = services.GetRequiredService<InstancePlacement>();
        _debouncedReport = new DebouncedReport(_requests, timeProvider, settings.HeartbeatInterval);
        _models = new FleetModels(settings, connection, store, _requests, services, timeProvider, logger) { Placement = _placement, DebouncedReport = _debouncedReport };
        StartedAt = timeProvider.GetUtcNow();
        _metrics = new FleetMetrics(this, services.GetService<IMeterFactory>());
        _models.Metrics = _metrics;
        _placement.Metrics = _metrics;
    }

    public FleetSettings Settings => _settings;

    /// <summary>Which placed models this instance owns, and their handoff.</summary>
    public InstancePlacement Placement => _placement;

    public DateTimeOffset StartedAt { get; }

    /// <summary>Whether the connection to Redis is up.</summary>
    public bool IsConnected => _connection.IsConnected;

    /// <summary>When the connection was lost, or <see langword="null"/> while it is up (or was never made).</summary>
    public DateTimeOffset? DisconnectedSince => Interlocked.Read(ref _disconnectedSinceTicks) is > 0 and long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The models that joined the fleet on this instance (their caches' sources are fleet sources).</summary>
    public IReadOnlyCollection<FleetModelEntry> Models => _models.All;

    /// <summary>How many rounds that read every desired record have ended (tests wait on it after <see cref="RequestReconcile"/>).</summary>
    internal long FullRounds => Interlocked.Read(ref _fullRounds);

    /// <summary>What this instance reports about its fleet models now.</summary>
    public FleetMember Describe() => _models.Describe(StartedAt);

    /// <summary>Called by a model's fleet source when the source is made.</summary>
    public FleetModelEntry Join(string model) => _models.Join(model);

    /// <summary>Called by a model's fleet source when the source is disposed.</summary>
    public void Leave(FleetModelEntry entry) => _models.Leave(entry);

    /// <summary>Starts the background loop (once); it connects without waiting for Redis.</summary>
    public Task StartAsync()
    {
        lock (_startGate)
        {
            if (_loop is null && !_stopping.IsCancellationRequested)
            {
                FleetLog.Joined(_logger, _settings.FleetName, _settings.InstanceId, _models.Names);
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
        _debouncedReport.Dispose();
        _models.CancelScheduledLoads();
        _placement.Warmer.Stop();
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
                if (_memberWritten)
                {
                    await AnnounceMembershipAsync(leaving: true, bound.Token).ConfigureAwait(false);
                }
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
        _metrics.Dispose();
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
        _debouncedReport.Dispose();
        _models.CancelScheduledLoads();
        _placement.Warmer.Stop();
        _metrics.Dispose();
    }

    /// <summary>Asks the loop to read every desired record and write the membership entry now.</summary>
    public void RequestReconcile() => _requests.ReconcileAll();

    /// <summary>Asks the loop to write the membership entry now.</summary>
    public void RequestReport() => _requests.Report();

    /// <summary>Asks the loop to write the membership entry soon (after a placed model's load; bursts fold into one).</summary>
    public void RequestReportSoon() => _debouncedReport.Request();

    /// <summary>Asks the loop to read the membership now (placement).</summary>
    public void RequestMembership() => _requests.Members();

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
            while (await _requests.WaitAsync(stopping).ConfigureAwait(false))
            {
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

        await SubscribeAsync(multiplexer, stopping).ConfigureAwait(false);
        (bool all, HashSet<string> names) = _requests.TakeReads();
        await _models.ReconcileAsync(all, names, stopping).ConfigureAwait(false);

        // After the reads: a canary that finds it failed on the content before asks for its stop in this very round.
        IReadOnlyList<RolloutStop> stops = _requests.TakeStops();
        if (stops.Count > 0)
        {
            await _models.StopRolloutsAsync(stops, stopping).ConfigureAwait(false);
        }

        // A changed desired version is reported at once (the status shows who took it, or had it already); a placed
        // model that joined waits for the debounced report, so a burst of new tenants is one write.
        bool report = _requests.TakeReport() || names.Any(name => !_placement.IsTracked(name));
        if (report)
        {
            bool written = await _models.ReportAsync(StartedAt, stopping).ConfigureAwait(false);
            _memberWritten |= written;
            if (written && !_joinAnnounced)
            {
                // The entry is in Redis: routers and placing instances read the membership now rather than at their
                // next read (placing or not, routers route to it).
                _joinAnnounced = await AnnounceMembershipAsync(leaving: false, stopping).ConfigureAwait(false);
            }
        }
        else if (names.Count > 0)
        {
            _debouncedReport.Request();
        }

        // Placement reads the membership on each heartbeat (after writing this instance's entry) and when a member
        // joins or leaves.
        if (_placement.Enabled && (_requests.TakeMembers() | report))
        {
            await PlaceAsync(stopping).ConfigureAwait(false);
        }

        if (all)
        {
            Interlocked.Increment(ref _fullRounds);
        }
    }

    private async Task PlaceAsync(CancellationToken stopping)
    {
        try
        {
            IReadOnlyList<FleetMember> members = _placement.ReadMembers(await _store.ReadMemberEntriesAsync(stopping).ConfigureAwait(false));
            MarkRestored(); // read on a connection that is back, maybe before its ConnectionRestored event ran

            if (_placement.Apply(members))
            {
                _debouncedReport.Request(); // it released names: the entry says so soon
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.PlacementReadMembersFailed(_logger, ex, _settings.FleetName); // the last view stays
        }
    }

    /// <summary>
    /// Announces on the members-changed channel that this instance joined or left. Best effort: the message is a hint
    /// (the others also read the membership at an interval), so a failed publish is logged and fails nothing.
    /// </summary>
    private async Task<bool> AnnounceMembershipAsync(bool leaving, CancellationToken cancellationToken)
    {
        try
        {
            await _store.AnnounceMembershipAsync(_settings.InstanceId, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException || (ex is OperationCanceledException && (leaving || !_stopping.IsCancellationRequested)))
        {
            FleetLog.AnnounceMembershipFailed(_logger, ex, _settings.FleetName, _settings.InstanceId, leaving ? "left" : "joined");
            return false;
        }
    }

    // Hands each handler to the multiplexer once, on the first round with a connection. StackExchange.Redis keeps a handler
    // in its table even when the server's answer fails or times out, and subscribes every handler in its table again after
    // each reconnect; so a failed try is logged and not tried again: each retry used to add the handler once more, and every
    // message then ran it once per failed try. The messages are hints (the timers and reconnects read the records anyway).
    private async Task SubscribeAsync(IConnectionMultiplexer multiplexer, CancellationToken stopping)
    {
        if (_subscribed)
        {
            return;
        }

        _subscribed = true;
        ISubscriber subscriber = multiplexer.GetSubscriber();
        await TrySubscribeAsync(subscriber, _settings.Keys.Changes, (_, message) => OnChangeAnnounced(message), stopping).ConfigureAwait(false);
        if (_placement.Enabled)
        {
            await TrySubscribeAsync(subscriber, _settings.Keys.MembersChanged, (_, message) => OnMembershipAnnounced(message), stopping).ConfigureAwait(false);
        }
    }

    // A stop does not wait for a stalled server's answer (the handler is in the multiplexer's table either way).
    private async Task TrySubscribeAsync(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler, CancellationToken stopping)
    {
        try
        {
            await subscriber.SubscribeAsync(channel, handler).WaitAsync(stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            FleetLog.SubscribeFailed(_logger, ex, _settings.FleetName);
        }
    }

    /// <inheritdoc cref="FleetModels.OnLoadRecorded"/>
    public void OnLoadRecorded(FleetModelEntry entry, ModelLoadRecord record) => _models.OnLoadRecorded(entry, record);

    /// <inheritdoc cref="FleetModels.ResolveForFetchAsync"/>
    public Task<FleetVersion?> ResolveForFetchAsync(FleetModelEntry entry, CancellationToken cancellationToken) =>
        _models.ResolveForFetchAsync(entry, cancellationToken);

    private void OnChangeAnnounced(RedisValue message)
    {
        // On the multiplexer's thread: only note the name and wake the loop.
        if (!message.IsNullOrEmpty && _models.Contains(message.ToString()))
        {
            _requests.Changed(message.ToString());
        }
    }

    private void OnMembershipAnnounced(RedisValue message)
    {
        if (message != _settings.InstanceId)
        {
            _requests.Members();
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
        MarkRestored();

        // Messages sent meanwhile are lost: read every record again rather than replay anything. Redis may have come back
        // empty: the entry is written again at the next report, and announced again then.
        _joinAnnounced = false;
        RequestReconcile();
    }

    // Once per disconnection, by whichever sees the connection back first: the ConnectionRestored event, or a membership
    // read that worked before the client raised it. The others are reconnecting too, so placement takes nobody's missing
    // entry for a death for a while; and a flag left set (a failed replica's event) no longer defers that forever.
    private void MarkRestored()
    {
        if (Interlocked.Exchange(ref _disconnectedSinceTicks, 0) != 0)
        {
            _placement.ConnectionRestored();
            FleetLog.ControlPlaneRestored(_logger, _settings.FleetName);
        }
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
}
