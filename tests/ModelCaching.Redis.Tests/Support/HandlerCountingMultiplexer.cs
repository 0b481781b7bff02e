using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// A real <see cref="ConnectionMultiplexer"/> handed to the code under test (through a <c>ConnectionMultiplexerFactory</c>)
/// behind a pass-through proxy that counts, per channel, the handlers given to its subscriber and each run of them (per
/// message). Everything else, the subscription table and its behaviour on failures and reconnects included, is
/// StackExchange.Redis's own: each handler it was given runs once per message.
/// </summary>
public sealed class HandlerCountingMultiplexer
{
    private readonly ConcurrentDictionary<string, int> _given = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Channel, string Message), int> _runs = new();
    private readonly ConcurrentDictionary<Delegate, Action<RedisChannel, RedisValue>> _wrappers = new();

    public HandlerCountingMultiplexer(IConnectionMultiplexer inner)
    {
        ISubscriber subscriber = ForwardingProxy.Create<ISubscriber>(inner.GetSubscriber(), InterceptSubscriber);
        Multiplexer = ForwardingProxy.Create<IConnectionMultiplexer>(inner, (method, _) => method.Name == nameof(IConnectionMultiplexer.GetSubscriber) ? (true, subscriber) : (false, null));
    }

    /// <summary>The proxy to hand to the code under test.</summary>
    public IConnectionMultiplexer Multiplexer { get; }

    /// <summary>How many handlers were given for <paramref name="channel"/> (Subscribe or SubscribeAsync with a handler).</summary>
    public int HandlersGiven(RedisChannel channel) => _given.GetValueOrDefault(channel.ToString());

    /// <summary>How many times a handler of <paramref name="channel"/> ran for the message <paramref name="message"/>.</summary>
    public int Runs(RedisChannel channel, string message) => _runs.GetValueOrDefault((channel.ToString(), message));

    private (bool Handled, object? Result) InterceptSubscriber(MethodInfo method, object?[] args)
    {
        if (method.Name is nameof(ISubscriber.Subscribe) or nameof(ISubscriber.SubscribeAsync) && args.Length > 1 && args[1] is Action<RedisChannel, RedisValue> handler)
        {
            string channel = ((RedisChannel)args[0]!).ToString();
            _given.AddOrUpdate(channel, 1, static (_, n) => n + 1);
            args[1] = _wrappers.GetOrAdd(handler, original => (received, message) =>
            {
                _runs.AddOrUpdate((channel, message.ToString()), 1, static (_, n) => n + 1);
                ((Action<RedisChannel, RedisValue>)original)(received, message);
            });
        }
        else if (method.Name is nameof(ISubscriber.Unsubscribe) or nameof(ISubscriber.UnsubscribeAsync) && args.Length > 1 && args[1] is Action<RedisChannel, RedisValue> given)
        {
            args[1] = _wrappers.GetValueOrDefault(given, given);
        }

        return (false, null);
    }

    /// <summary>Forwards every call to a target, unless an interceptor answers it (or rewrites its arguments first).</summary>
    /// <remarks>Not sealed: <see cref="DispatchProxy"/> derives the proxy type from it.</remarks>
    public class ForwardingProxy : DispatchProxy
    {
        private object _target = null!;
        private Func<MethodInfo, object?[], (bool Handled, object? Result)> _intercept = null!;

        public static T Create<T>(T target, Func<MethodInfo, object?[], (bool Handled, object? Result)> intercept)
            where T : class
        {
            T proxy = DispatchProxy.Create<T, ForwardingProxy>();
            var forwarding = (ForwardingProxy)(object)proxy;
            forwarding._target = target;
            forwarding._intercept = intercept;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            args ??= [];
            (bool handled, object? result) = _intercept(targetMethod, args);
            if (handled)
            {
                return result;
            }

            try
            {
                return targetMethod.Invoke(_target, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }
}
