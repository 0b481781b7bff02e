using System.Reflection;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Data;
using ModelCaching.ML.Tests.Support;

namespace ModelCaching.ML.Tests.Pooling.ModelBased;

/// <summary>The two models a run swaps between (one input and output type fits both).</summary>
public enum ModelKind
{
    Iris,
    Taxi,
}

/// <summary>
/// Every input column of iris.zip and taxi-fare.zip (so one pool serves either model); each column throws when
/// <see cref="Throw"/> is set, so whichever model reads it fails inside the engine.
/// </summary>
public sealed class PoolInput
{
    [NoColumn]
    public bool Throw { get; init; }

    [NoColumn]
    public float Seed { get; init; }

    public float Label => Read(0f);

    public float SepalLength => Read(5.1f + Seed);

    public float SepalWidth => Read(3.5f - Seed);

    public float PetalLength => Read(1.4f + (2 * Seed));

    public float PetalWidth => Read(0.2f + Seed);

    public string VendorId => Read(Seed > 0.5f ? "CMT" : "VTS");

    public string RateCode => Read("1");

    public float PassengerCount => Read(1 + Seed);

    public float TripTime => Read(1140 + (100 * Seed));

    public float TripDistance => Read(3.75f + Seed);

    public string PaymentType => Read("CRD");

    public float FareAmount => Read(0f);

    private T Read<T>(T value) => Throw ? throw new InvalidOperationException("boom: the input could not be read") : value;

    public static PoolInput Sample(int index) => new() { Seed = index * 0.4f };
}

/// <summary>The output both models have (their feature vector); its constructor throws while the calling thread's switch is on.</summary>
public sealed class PoolPrediction
{
    [ThreadStatic]
    private static bool t_throw;

    public PoolPrediction()
    {
        if (t_throw)
        {
            throw new InvalidOperationException("constructor boom");
        }
    }

    public float[] Features = [];

    /// <summary>Turns the current thread's switch on until the result is disposed.</summary>
    public static IDisposable ThrowingOnThisThread()
    {
        t_throw = true;
        return new SwitchOff();
    }

    private sealed class SwitchOff : IDisposable
    {
        public void Dispose() => t_throw = false;
    }
}

/// <summary>What each model predicts for each sample input (from a raw engine), and which version id is which model.</summary>
public static class PoolExpectations
{
    private static readonly Lazy<Dictionary<(ModelKind, int), float[]>> s_features = new(Compute);

    public static string PathOf(ModelKind kind) => kind == ModelKind.Iris ? TestModels.IrisPath : TestModels.TaxiFarePath;

    /// <summary>The version ids (SHA-256 of the file) of the two models.</summary>
    public static readonly Lazy<Dictionary<string, ModelKind>> KindsById = new(() => new Dictionary<string, ModelKind>(StringComparer.Ordinal)
    {
        [Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(TestModels.IrisPath)))] = ModelKind.Iris,
        [Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(TestModels.TaxiFarePath)))] = ModelKind.Taxi,
    });

    public static float[] Features(ModelKind kind, int input) => s_features.Value[(kind, input)];

    public static ModelKind? KindOf(ModelVersion? version) =>
        version is not null && KindsById.Value.TryGetValue(version.Id, out ModelKind kind) ? kind : null;

    private static Dictionary<(ModelKind, int), float[]> Compute()
    {
        var features = new Dictionary<(ModelKind, int), float[]>();
        foreach (ModelKind kind in Enum.GetValues<ModelKind>())
        {
            ITransformer model = PoolFactory.Context.Model.Load(PathOf(kind), out _);
            using PredictionEngine<PoolInput, PoolPrediction> engine = PoolFactory.Context.Model.CreatePredictionEngine<PoolInput, PoolPrediction>(model);
            for (int input = 0; input < PoolOp.Inputs; input++)
            {
                features[(kind, input)] = [.. engine.Predict(PoolInput.Sample(input)).Features];
            }
        }

        // The samples must tell the models (and the inputs of one model) apart, or the checks would prove nothing.
        Assert.Equal(features.Count, features.Values.Select(static f => string.Join(",", f)).Distinct().Count());
        return features;
    }
}

/// <summary>
/// Reads the pool's private state for the model's checks (the test project sees the internal types, not the private
/// fields): the idle engines of a generation, in its slots and in threads' cells, and the engine a lease holds.
/// </summary>
internal static class PoolProbe
{
    private static readonly FieldInfo s_generationSlots = Field(typeof(EngineGeneration<PoolInput, PoolPrediction>), "_slots");
    private static readonly FieldInfo s_slotsArray = Field(typeof(EngineSlots), "_slots");
    private static readonly FieldInfo s_generationCells = Field(typeof(EngineGeneration<PoolInput, PoolPrediction>), "_cells");
    private static readonly FieldInfo s_cellsArray = Field(typeof(EngineCells), "_cells");
    private static readonly FieldInfo s_leaseEngine = Field(typeof(PredictionEngineLease<PoolInput, PoolPrediction>), "_engine");

    /// <summary>The engines idle in the generation's slots.</summary>
    public static List<PooledEngine<PoolInput, PoolPrediction>> IdleInSlots(EngineGeneration<PoolInput, PoolPrediction> generation)
    {
        var slots = (PaddedSlot[])s_slotsArray.GetValue(s_generationSlots.GetValue(generation))!;
        return [.. slots.Select(static s => Volatile.Read(ref s.Value)).OfType<PooledEngine<PoolInput, PoolPrediction>>()];
    }

    /// <summary>The cells registered in the generation (a cell taken back is unregistered).</summary>
    public static List<EngineCell> Cells(EngineGeneration<PoolInput, PoolPrediction> generation)
    {
        var cells = (EngineCell?[])s_cellsArray.GetValue(s_generationCells.GetValue(generation))!;
        return [.. cells.OfType<EngineCell>()];
    }

    /// <summary>The pooled engine a lease holds (whatever its return count says).</summary>
    public static PooledEngine<PoolInput, PoolPrediction> EngineOf(PredictionEngineLease<PoolInput, PoolPrediction> lease) =>
        (PooledEngine<PoolInput, PoolPrediction>)s_leaseEngine.GetValue(lease)!;

    private static FieldInfo Field(Type type, string name) =>
        type.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic) ?? throw new InvalidOperationException($"{type.Name}.{name} is gone: update PoolProbe.");
}

/// <summary>
/// The test's second thread: runs one action at a time, handed over synchronously with a bounded wait, so a step runs
/// on a thread other than the one that kept an engine. One per run; it ends with the run (its cells' owner dies).
/// </summary>
public sealed class PoolWorker : IDisposable
{
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _work = new(0);
    private (Action Action, TaskCompletionSource Done)? _next;
    private volatile bool _stopping;

    public PoolWorker()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "pool-mbt worker" };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="action"/> on the worker; the task completes when it has run (faulted with what it threw).</summary>
    public Task Start(Action action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_next is not null)
            {
                throw new InvalidOperationException("The worker is still running the previous step.");
            }

            _next = (action, done);
        }

        _work.Release();
        return done.Task;
    }

    private void Loop()
    {
        while (true)
        {
            _work.Wait();
            if (_stopping)
            {
                return;
            }

            (Action action, TaskCompletionSource done) = _next!.Value;
            try
            {
                action();
                lock (_gate)
                {
                    _next = null;
                }

                done.SetResult();
            }
            catch (Exception ex)
            {
                lock (_gate)
                {
                    _next = null;
                }

                done.SetException(ex);
            }
        }
    }

    /// <summary>Whether the worker ended within <paramref name="bound"/> (a worker stuck in a hung call is left behind: it is a background thread).</summary>
    public bool Stop(TimeSpan bound)
    {
        _stopping = true;
        _work.Release();
        return _thread.Join(bound);
    }

    public void Dispose() => Stop(TimeSpan.FromSeconds(5));
}

/// <summary>How often the runs reached the situations worth reaching (a test that never waits proves nothing about waiting).</summary>
public sealed class PoolCoverage
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    public void Count(string? situation)
    {
        if (situation is not null)
        {
            _counts.AddOrUpdate(situation, 1, static (_, n) => n + 1);
        }
    }

    public int this[string situation] => _counts.GetValueOrDefault(situation);

    public override string ToString() => string.Join(Environment.NewLine, _counts.OrderBy(static c => c.Key, StringComparer.Ordinal).Select(static c => $"  {c.Value,5} {c.Key}"));
}
