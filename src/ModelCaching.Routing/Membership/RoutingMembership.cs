using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using ModelCaching.Redis.Records;
using ModelCaching.Routing.Diagnostics;
using StackExchange.Redis;

namespace ModelCaching.Routing.Membership;

/// <summary>
/// The router's view of the fleet: reads the membership from Redis at once when an instance announces that it joined or
/// left, when asked (after a 421), after a reconnect, and every <see cref="RoutingSettings.RefreshInterval"/>; keeps the
/// last good read when Redis is unreachable, and signals YARP's cluster (<see cref="Proxy.ModelCacheProxyConfigProvider"/>)
/// through a change token when the instances or their addresses change.
/// </summary>
/// <remarks>
/// <para>
/// YARP reads destinations from configuration or from a provider, and has no Redis provider, so this is the provider's
/// source. An instance announces on the fleet's members-changed channel (<see cref="FleetKeys.MembersChanged"/>) when its
/// membership entry is first written and when a graceful stop has removed it; the router subscribes before its first read,
/// and each message asks for a read (<see cref="RefreshSoon"/>: a burst folds into the read under way and one more). A
/// message is a hint, never the state: what is routed to is always a read of the fleet's own <see cref="FleetStore"/>.
/// </para>
/// <para>
/// The read at an interval stays as the backstop: a killed instance announces nothing (its entry expires by time-to-live,
/// and the next read drops it); messages sent while the connection is down are lost (a reconnect asks for a read, and the
/// multiplexer subscribes again by itself); and while the subscription cannot be made (logged once) the interval is how
/// the router learns of joins and leaves.
/// </para>
/// </remarks>
internal sealed class RoutingMembership : IAsyncDisposable
{
    private readonly RoutingSettings _settings;
    private readonly FleetConnection _connection;
    private readonly FleetStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshNow = new(0, 1);
    private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Action<RedisChannel, RedisValue> _onMembersChanged;
    private readonly EventHandler<ConnectionFailedEventArgs> _onConnectionRestored;
    private IConnectionMultiplexer? _subscribed;
    private bool _subscribeFailureLogged;
    private long _announcements;
    private readonly FleetMemberReader _reader = new();
    private readonly Lock _reading = new();
    private RoutingTable _table = RoutingTable.Empty;
    private long _readAtTicks;
    private RoutingDestinations _destinations = new([], new CancellationTokenSource());
    private Task? _loop;
    private long _reads;
    private bool _failing;
    private string _replicaCounts = string.Empty;

    public RoutingMembership(RoutingSettings settings, TimeProvider time, ILogger<RoutingMembership> logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        _connection = new FleetConnection(settings.Fleet);
        _store = new FleetStore(settings.Fleet, _connection, time);
        _onMembersChanged = (_, _) => OnMembersChanged();
        _onConnectionRestored = (_, _) => RefreshSoon(); // messages sent while it was down are lost: read now
    }

    /// <summary>The membership as last read (the empty table before the first read; the same table while reads find it unchanged).</summary>
    public RoutingTable Table => Volatile.Read(ref _table);

    /// <summary>When the membership was last read well, or <see langword="null"/> before the first good read.</summary>
    public DateTimeOffset? ReadAt => Interlocked.Read(ref _readAtTicks) is > 0 and long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The live instances with a valid address (the cluster's destinations), and the token that fires when they change.</summary>
    public RoutingDestinations Destinations => Volatile.Read(ref _destinations);

    /// <summary>Completes when the first read ended (well or not).</summary>
    public Task FirstRead => _firstRead.Task;

    /// <summary>How many reads ended (well or not).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>How many members-changed messages arrived.</summary>
    public long Announcements => Interlocked.Read(ref _announcements);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is { } loop)
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await UnsubscribeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Asks for a read now (an instance answered 421: placement moved). Requests while one is pending collapse into it.</summary>
    public void RefreshSoon()
    {
        try
        {
            _refreshNow.Release();
        }
        catch (SemaphoreFullException)
        {
            // A read is asked for already.
        }
        catch (ObjectDisposedException)
        {
            // Disposed: a message or a 421 that came as the router stopped.
        }
    }

    /// <summary>Reads the membership once (the loop's step; tests call it too).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            RedisValue[] entries = await _store.ReadMemberEntriesAsync(cancellationToken).ConfigureAwait(false);
            Take(entries, _time.GetUtcNow());
            if (_failing)
            {
                _failing = false;
                RoutingLog.MembershipReadRestored(_logger, _settings.FleetName);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (!_failing)
            {
                _failing = true;
                RoutingLog.MembershipReadFailed(_logger, _settings.FleetName, Table.Members.Count, ex);
            }
        }
        finally
        {
            Interlocked.Increment(ref _reads);
            _firstRead.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _refreshNow.Dispose();
        Destinations.Dispose();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (Volatile.Read(ref _subscribed) is null)
                {
                    await SubscribeAsync(stopping).ConfigureAwait(false); // until a connection was had (a factory may throw)
                }

                await RefreshAsync(stopping).ConfigureAwait(false);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping);

                // Whichever comes first: the interval, or a read asked for; the other wait is cancelled, so a pending
                // semaphore wait never swallows a later request.
                await Task.WhenAny(Task.Delay(_settings.RefreshInterval, _time, wait.Token), _refreshNow.WaitAsync(wait.Token)).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopped with the host.
        }
    }

    /// <summary>
    /// Subscribes to the members-changed channel, before the first read so that no join between the two goes unseen. A
    /// failure is logged (once) and stops nothing: once a connection was had the multiplexer keeps the handler and
    /// subscribes it when the server answers (as after every reconnect); a connection that could not be had is asked for
    /// again before the next read. Until then the interval reads tell joins and leaves. The first read waits for the
    /// server's answer at most one interval.
    /// </summary>
    private async Task SubscribeAsync(CancellationToken stopping)
    {
        try
        {
            IConnectionMultiplexer multiplexer = await _connection.GetAsync(stopping).ConfigureAwait(false);
            multiplexer.ConnectionRestored += _onConnectionRestored;
            _subscribed = multiplexer;
            await multiplexer.GetSubscriber().SubscribeAsync(_settings.Fleet.Keys.MembersChanged, _onMembersChanged).WaitAsync(_settings.RefreshInterval, _time, stopping).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
        {
            if (!_subscribeFailureLogged)
            {
                _subscribeFailureLogged = true;
                RoutingLog.SubscribeFailed(_logger, _settings.FleetName, _settings.RefreshInterval, ex);
            }
        }
    }

    /// <summary>Removes this router's handler only (a connection from a factory may carry others on the same channel).</summary>
    private async Task UnsubscribeAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _subscribed, null) is not { } multiplexer)
        {
            return;
        }

        multiplexer.ConnectionRestored -= _onConnectionRestored;
        try
        {
            // The handler leaves the multiplexer's table before the server is told: no message reaches it after this
            // call, whether or not the server answers (bounded: Redis may be down).
            await multiplexer.GetSubscriber().UnsubscribeAsync(_settings.Fleet.Keys.MembersChanged, _onMembersChanged).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            // The server drops the subscription with the connection.
        }
    }

    private void OnMembersChanged()
    {
        // On the multiplexer's thread: only ask for a read.
        Interlocked.Increment(ref _announcements);
        RefreshSoon();
    }

    /// <summary>
    /// Takes the membership entries of a good read (the loop's step; tests call it): the routing table and the cluster's
    /// destinations are made again only when a field the router reads changed (<see cref="FleetMemberReader"/> gives the
    /// last list back otherwise), so a read of an unchanged fleet allocates next to nothing.
    /// </summary>
    internal void Take(ReadOnlySpan<RedisValue> entries, DateTimeOffset readAt)
    {
        lock (_reading)
        {
            IReadOnlyList<FleetMember> members = _reader.Read(entries);
            if (!ReferenceEquals(members, Table.Members))
            {
                Apply(new RoutingTable(members));
            }

            Interlocked.Exchange(ref _readAtTicks, readAt.UtcTicks);
        }
    }

    /// <summary>Takes a membership (a changed read; tests call it).</summary>
    internal void Apply(RoutingTable table)
    {
        Volatile.Write(ref _table, table);
        string counts = string.Join(", ", table.ReplicaCounts);
        if (table.ReplicaCounts.Count > 1 && counts != _replicaCounts)
        {
            RoutingLog.ReplicasDisagree(_logger, _settings.FleetName, counts, table.Replicas);
        }

        _replicaCounts = counts;
        var addresses = new List<KeyValuePair<string, string>>(table.Members.Count);
        foreach (FleetMember member in table.Members)
        {
            if (member.Address is { } address && Uri.TryCreate(address, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https")
            {
                addresses.Add(new(member.InstanceId, address));
            }
        }

        RoutingDestinations current = Destinations;
        if (!addresses.SequenceEqual(current.Addresses))
        {
            Volatile.Write(ref _destinations, new RoutingDestinations(addresses, new CancellationTokenSource()));
            RoutingLog.MembershipChanged(_logger, _settings.FleetName, addresses.Count, string.Join(", ", addresses.Select(static a => $"{a.Key}={a.Value}")));
            current.Changed();
        }
    }
}

/// <summary>One set of the cluster's destinations (instance id, address), with the token that fires when it is replaced.</summary>
internal sealed class RoutingDestinations(IReadOnlyList<KeyValuePair<string, string>> addresses, CancellationTokenSource changes) : IDisposable
{
    public IReadOnlyList<KeyValuePair<string, string>> Addresses { get; } = addresses;

    public IChangeToken ChangeToken { get; } = new CancellationChangeToken(changes.Token);

    /// <summary>Fires <see cref="ChangeToken"/>: a newer set replaced this one.</summary>
    public void Changed() => changes.Cancel(); // not disposed: YARP may still register on the fired token

    public void Dispose() => changes.Dispose();
}
