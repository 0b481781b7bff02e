using ModelCaching.Diagnostics;

namespace ModelCaching;

// The provider's table of the caches it made: one entry per name (the cache itself once made), the creation order kept
// by each cache, and what disposal takes from it.
internal sealed partial class ModelCacheProvider
{
    // The cache of an entry: made now (once, by its Lazy, which the cache then replaces in the table) or before.
    private IModelCache Made(string name, object entry)
    {
        if (entry is not Lazy<IModelCache> making)
        {
            return (IModelCache)entry;
        }

        IModelCache cache = making.Value;
        _caches.TryUpdate(name, cache, making);

        // Made while the provider was disposed: disposal may have missed it (its Lazy was still running), so it is not
        // handed out. Read after the table holds it, as disposal marks itself before it takes the table.
        if (Volatile.Read(ref _disposed) != 0)
        {
            _caches.TryRemove(KeyValuePair.Create(name, (object)cache));
            _unowned.TryRemove(cache, out _);
            (cache as IDisposable)?.Dispose();
            throw new ObjectDisposedException(nameof(ModelCacheProvider));
        }

        return cache;
    }

    /// <summary>
    /// The template models kept (for the metrics' observable instruments): each is listed from its making until it is
    /// dropped (a first load failed) or the provider is disposed, as it was registered one by one before (issue 18).
    /// </summary>
    IEnumerable<ModelCacheMetrics.IMetricsSource> ModelCacheMetrics.ITemplateModels.TemplateModels()
    {
        foreach (object entry in _caches.Values)
        {
            object? cache = entry is Lazy<IModelCache> making ? (making.IsValueCreated ? making.Value : null) : entry;
            if (cache is ModelCacheMetrics.IMetricsSource { TemplateName: not null } source)
            {
                yield return source;
            }
        }
    }

    // The caches made so far and not taken before, newest first (so disposing twice disposes each once).
    private List<IModelCache> TakeCreated()
    {
        var taken = new List<KeyValuePair<IModelCache, long>>();
        long from;
        lock (_unowned)
        {
            from = _takenUpTo;
            _takenUpTo = Interlocked.Read(ref _createdCount);
        }

        foreach (object entry in _caches.Values)
        {
            IModelCache? cache = entry as IModelCache ?? (entry is Lazy<IModelCache> { IsValueCreated: true } making ? making.Value : null);
            if (cache is IOwnedModelCache { OwnerOrder: var order } && order > from)
            {
                taken.Add(KeyValuePair.Create(cache, order));
            }
        }

        foreach (KeyValuePair<IModelCache, long> entry in _unowned)
        {
            if (_unowned.TryRemove(entry))
            {
                taken.Add(entry);
            }
        }

        taken.Sort(static (a, b) => b.Value.CompareTo(a.Value));
        return taken.ConvertAll(static entry => entry.Key);
    }

    // The provider disposes what it made; the container, which also disposes a cache it handed out as a keyed
    // singleton (one after another, before the provider), then only closes it and does not wait for its loads.
    private IModelCache Own(IModelCache cache)
    {
        long order = Interlocked.Increment(ref _createdCount);
        if (cache is IOwnedModelCache owned)
        {
            owned.AttachOwner(order);
        }
        else
        {
            _unowned[cache] = order;
        }

        return cache;
    }
}
