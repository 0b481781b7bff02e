using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using ModelCaching.Tests.Reload;

namespace ModelCaching.Tests.Stress;

/// <summary>
/// Predictions on every core while the model file is replaced and reloaded in a loop (good and bad versions
/// mixed) for a bounded time: no call may fail, no call may see a disposed model, and every generation that
/// was swapped out must be disposed.
/// </summary>
public sealed class ReloadStressTests : IDisposable
{
    private static readonly TimeSpan RunFor = TimeSpan.FromSeconds(3);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task PredictionsOnAllCores_WhileReloadingInALoop_NeverFail_NeverSeeADisposedModel_AndEveryReplacedGenerationIsDisposed()
    {
        string path = _directory.File("model.bin");
        await File.WriteAllBytesAsync(path, StressModel.Encode(1));
        var loader = new StressModelLoader();
        var options = new ModelOptions<StressModel>
        {
            Source = new FileModelSource(path),
            Loader = loader,
            DrainDelay = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.Zero,
        };
        options.WarmUps.Add(static (model, _) =>
        {
            model.Predict(1);
            return ValueTask.CompletedTask;
        });

        // The cache's own timers on a fake clock: nothing but this test's reloads happens.
        await using var cache = new ModelCache<StressModel>("stress", options, new FakeTimeProvider());
        await cache.GetModelAsync();

        long calls = 0;
        long failedCalls = 0;
        long mixedResults = 0;
        Exception? firstFailure = null;
        using var stop = new CancellationTokenSource();
        var workers = new Thread[Math.Max(2, Environment.ProcessorCount)];
        for (int i = 0; i < workers.Length; i++)
        {
            bool useAsync = i % 2 == 1;
            workers[i] = new Thread(() =>
            {
                long input = 0;
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        using ModelLease<StressModel> lease = useAsync
                            ? cache.AcquireAsync().AsTask().GetAwaiter().GetResult()
                            : cache.Acquire();
                        long first = lease.Model.Predict(++input);
                        long second = lease.Model.Predict(input);

                        // Both answers from one whole model: same version, same input.
                        if (first != second || first != (lease.Model.Version * 1_000_000) + input)
                        {
                            Interlocked.Increment(ref mixedResults);
                        }

                        Interlocked.Increment(ref calls);
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref failedCalls);
                        Interlocked.CompareExchange(ref firstFailure, ex, null);
                    }
                }
            })
            {
                IsBackground = true,
                Name = $"stress-predict-{i}",
            };
            workers[i].Start();
        }

        int reloads = 0;
        int rejected = 0;
        try
        {
            using var deadline = new CancellationTokenSource(RunFor);
            for (int version = 2; !deadline.IsCancellationRequested; version++)
            {
                // A new version written aside and renamed in; every fifth one is corrupt.
                bool corrupt = version % 5 == 0;
                string temp = path + ".tmp";
                await File.WriteAllBytesAsync(temp, corrupt ? StressModel.Corrupt(version) : StressModel.Encode(version));
                File.Move(temp, path, overwrite: true);
                try
                {
                    await cache.ReloadAsync().WaitAsync(LogSignals.Timeout);
                    Assert.False(corrupt, $"version {version} is corrupt and must not load");
                    reloads++;
                }
                catch (ModelLoadException) when (corrupt)
                {
                    rejected++;
                    Assert.Equal(ModelCacheState.Degraded, cache.State);
                }
            }
        }
        finally
        {
            stop.Cancel();
            foreach (Thread worker in workers)
            {
                Assert.True(worker.Join(LogSignals.Timeout), $"{worker.Name} did not stop");
            }
        }

        Assert.True(failedCalls == 0, $"{failedCalls} of {calls + failedCalls} calls failed; the first: {firstFailure}");
        Assert.Equal(0, StressModel.UsesAfterDispose);
        Assert.Equal(0, mixedResults);
        Assert.True(reloads >= 10, $"only {reloads} reloads ran in {RunFor}");
        Assert.True(rejected >= 2, $"only {rejected} corrupt versions were tried");
        Assert.True(calls > reloads * 10L, $"only {calls} calls ran beside {reloads} reloads");

        // Every generation swapped out has been disposed (the workers' leases have all ended); only the serving one lives.
        StressModel serving = cache.GetModel();
        StressModel[] created = loader.Created;
        Assert.Equal(reloads + 1, created.Length);
        Assert.All(created.Where(model => model != serving), model => Assert.True(model.IsDisposed, $"version {model.Version} was not disposed"));
        Assert.False(serving.IsDisposed);
    }
}

/// <summary>A disposable "model" whose predictions depend on its version and which counts uses after disposal.</summary>
public sealed class StressModel(long version) : IDisposable
{
    private static long s_usesAfterDispose;
    private int _disposed;

    public static long UsesAfterDispose => Interlocked.Read(ref s_usesAfterDispose);

    public long Version { get; } = version;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public static byte[] Encode(long version)
    {
        byte[] bytes = new byte[16];
        "STRESS01"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), version);
        return bytes;
    }

    public static byte[] Corrupt(long version)
    {
        byte[] bytes = Encode(version);
        bytes[0] = (byte)'X';
        return bytes;
    }

    public long Predict(long input)
    {
        if (IsDisposed)
        {
            Interlocked.Increment(ref s_usesAfterDispose);
            throw new ObjectDisposedException(nameof(StressModel), $"version {Version} was used after it was disposed");
        }

        return (Version * 1_000_000) + input;
    }

    public void Dispose() => Interlocked.Exchange(ref _disposed, 1);
}

/// <summary>Parses <see cref="StressModel.Encode"/>'s format; rejects anything else, as a real loader rejects a corrupt file.</summary>
public sealed class StressModelLoader : IModelLoader<StressModel>
{
    private readonly List<StressModel> _created = [];

    public StressModel[] Created
    {
        get
        {
            lock (_created)
            {
                return [.. _created];
            }
        }
    }

    public ValueTask<StressModel> LoadAsync(ModelArtifact artifact, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> bytes = artifact.Content.Span;
        if (bytes.Length != 16 || !bytes.StartsWith("STRESS01"u8))
        {
            throw new InvalidDataException($"'{artifact.Location}' is not a stress model");
        }

        var model = new StressModel(BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]));
        lock (_created)
        {
            _created.Add(model);
        }

        return ValueTask.FromResult(model);
    }
}
