using System.Runtime.CompilerServices;

namespace ModelCaching.Redis.Tests.Support;

/// <summary>
/// The test process starts many fleets at once (xUnit runs the classes in parallel), each with agents, heartbeats and
/// Redis connections whose replies complete on the thread pool. On 2 cores the pool starts with 2 workers and adds about
/// one a second, so in the first seconds a Redis reply can sit in the queue past the fixtures' 2 s command timeout (a CI
/// rehearsal: UNWATCH timed out at 2,024 ms with 5 busy workers and 12 queued items). The 2 s timeout stays: the tests
/// that kill redis-server need it short. The pool starts with more workers instead.
/// </summary>
internal static class ThreadPoolFloor
{
    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out int workers, out int completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(completionPorts, 32));
    }
}
