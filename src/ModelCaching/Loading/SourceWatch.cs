using System.Runtime.CompilerServices;
using Microsoft.Extensions.Primitives;

namespace ModelCaching.Loading;

/// <summary>
/// The change subscription of a model whose source or factory has change tokens: a change starts a load
/// (<see cref="LoadRunner{TModel}.OnSourceChanged"/>), and disposal ends the subscription. It is kept beside its cache in a
/// <see cref="ConditionalWeakTable{TKey, TValue}"/>, not in a field of every cache: a template's models are never watched,
/// and issue 18 counts what each of them holds; the few watched models pay for an entry of the table instead.
/// </summary>
internal static class SourceWatch<TModel>
    where TModel : class
{
    private static readonly ConditionalWeakTable<ModelCache<TModel>, IDisposable> s_subscriptions = [];

    /// <summary>Subscribes to the changes of <paramref name="source"/> or <paramref name="factory"/>, unless the factory never has a change token.</summary>
    public static void Start(ModelCache<TModel> cache, IModelSource? source, IModelFactory<TModel>? factory)
    {
        // A factory that never has a change token (a template's by name, a delegate without one) is not watched.
        if (factory is NamedModelFactory<TModel> or DelegateModelFactory<TModel> { HasChangeToken: false })
        {
            return;
        }

        s_subscriptions.Add(cache, ChangeToken.OnChange(factory is null ? source!.GetChangeToken : factory.GetChangeToken, static watched => LoadRunner<TModel>.OnSourceChanged(watched), cache));
    }

    /// <summary>At disposal: ends the subscription, if the cache has one.</summary>
    public static void Stop(ModelCache<TModel> cache)
    {
        if (s_subscriptions.TryGetValue(cache, out IDisposable? subscription))
        {
            s_subscriptions.Remove(cache);
            subscription.Dispose();
        }
    }
}
