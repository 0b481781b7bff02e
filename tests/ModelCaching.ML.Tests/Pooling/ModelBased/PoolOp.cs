namespace ModelCaching.ML.Tests.Pooling.ModelBased;

/// <summary>What one step of the pool's model-based run does.</summary>
public enum PoolOpKind
{
    /// <summary>A prediction (Arg: its form, see <see cref="PredictForm"/>, and which input).</summary>
    Predict,

    /// <summary>A prediction whose input throws when the engine reads it: the engine is dropped.</summary>
    PredictThrowingInput,

    /// <summary>A prediction whose <c>TPrediction</c> constructor throws (on the thread that predicts).</summary>
    PredictThrowingConstructor,

    /// <summary><c>Rent()</c>: a lease we hold until a release step.</summary>
    Rent,

    /// <summary>Disposes one lease we hold (Arg picks which).</summary>
    Release,

    /// <summary>Disposes one lease we hold, then a copy of it again: the second does nothing.</summary>
    ReleaseTwice,

    /// <summary>Predicts with a held lease's engine (it must still predict with its own generation's model).</summary>
    UseLease,

    /// <summary>The model file becomes the other model (iris ↔ taxi-fare) and the cache reloads it: a new generation.</summary>
    Reload,

    /// <summary><c>RollbackAsync</c>: back to the previous version, when there is one.</summary>
    Rollback,

    /// <summary><c>Invalidate</c>: the model is unloaded; the next call loads it again.</summary>
    Unload,

    /// <summary>Disposes the pool (again: nothing happens); every later pool call throws <see cref="ObjectDisposedException"/>.</summary>
    DisposePool,
}

/// <summary>Which of the pool's predict methods a prediction step calls.</summary>
public enum PredictForm
{
    /// <summary><c>Predict(input)</c>.</summary>
    New,

    /// <summary><c>Predict(input, ref output)</c> with an existing output.</summary>
    Ref,

    /// <summary><c>Predict(input, ref output)</c> with a null output (the pool makes it).</summary>
    RefNull,

    /// <summary><c>Predict(inputs, outputs)</c>: two inputs, null outputs.</summary>
    Batch,
}

/// <summary>One step: a kind, whether the test's second thread runs it, and an argument.</summary>
public sealed record PoolOp(PoolOpKind Kind, bool OnWorker, int Arg)
{
    public const int Inputs = 3;

    public PredictForm Form => (PredictForm)(Arg % 4);

    public int Input => Arg / 4 % Inputs;

    public bool IsPoolCall => Kind is PoolOpKind.Predict or PoolOpKind.PredictThrowingInput or PoolOpKind.PredictThrowingConstructor or PoolOpKind.Rent;

    /// <summary>Reads as C#-like pseudo-code, so a shrunk sequence can be copied into a regression test.</summary>
    public override string ToString()
    {
        string thread = OnWorker ? " [worker]" : string.Empty;
        return Kind switch
        {
            PoolOpKind.Predict or PoolOpKind.PredictThrowingInput or PoolOpKind.PredictThrowingConstructor => $"{Kind}({Form}, input {Input}){thread}",
            PoolOpKind.Release or PoolOpKind.ReleaseTwice or PoolOpKind.UseLease => $"{Kind}(lease #{Arg}){thread}",
            _ => $"{Kind}(){thread}",
        };
    }
}

/// <summary>A pool's settings and a sequence of steps; its text is the settings, then one step a line (what a failure prints).</summary>
public sealed class PoolSequence(int maximumEngines, PoolExhaustionPolicy policy, IReadOnlyList<PoolOp> ops)
{
    public int MaximumEngines { get; } = maximumEngines;

    public PoolExhaustionPolicy Policy { get; } = policy;

    public IReadOnlyList<PoolOp> Ops { get; } = ops;

    public override string ToString() =>
        $"MaximumEngines = {MaximumEngines}, {Policy}, {Ops.Count} ops:{Environment.NewLine}" +
        string.Join(Environment.NewLine, Ops.Select(static (op, i) => $"  {i + 1,3}. {op}"));

    /// <summary>A random sequence of 10 to <paramref name="maxLength"/> steps over a pool of 1 to 3 engines (the seed reproduces it).</summary>
    public static PoolSequence Random(int seed, PoolExhaustionPolicy policy, int maxLength)
    {
        var random = new Random(seed);
        int maximum = random.Next(1, 4);
        int length = random.Next(10, maxLength + 1);
        var ops = new List<PoolOp>(length);
        while (ops.Count < length)
        {
            ops.Add(RandomOp(random));
        }

        return new PoolSequence(maximum, policy, ops);
    }

    private static PoolOp RandomOp(Random random)
    {
        // Weights: many predictions and leases (they move engines between slots, cells and holders), fewer swaps.
        int roll = random.Next(100);
        bool onWorker = random.Next(10) < 3;
        int predictArg = random.Next(4 * PoolOp.Inputs);
        return roll switch
        {
            < 28 => new PoolOp(PoolOpKind.Predict, onWorker, predictArg),
            < 33 => new PoolOp(PoolOpKind.PredictThrowingInput, onWorker, predictArg),
            < 38 => new PoolOp(PoolOpKind.PredictThrowingConstructor, onWorker, predictArg),
            < 55 => new PoolOp(PoolOpKind.Rent, onWorker, 0),
            < 67 => new PoolOp(PoolOpKind.Release, onWorker, random.Next(4)),
            < 71 => new PoolOp(PoolOpKind.ReleaseTwice, onWorker, random.Next(4)),
            < 78 => new PoolOp(PoolOpKind.UseLease, false, random.Next(4)),
            < 86 => new PoolOp(PoolOpKind.Reload, false, 0),
            < 90 => new PoolOp(PoolOpKind.Rollback, false, 0),
            < 99 => new PoolOp(PoolOpKind.Unload, false, 0),
            _ => new PoolOp(PoolOpKind.DisposePool, false, 0), // 1 in 100: the steps after it mostly check the disposed pool
        };
    }

    /// <summary>Smaller sequences to try when this one fails: chunks removed (halves first, then single ops), then simpler steps and a smaller pool.</summary>
    public IEnumerable<PoolSequence> Shrink()
    {
        int count = Ops.Count;
        for (int chunk = count / 2; chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start + chunk <= count; start += chunk)
            {
                var smaller = new List<PoolOp>(count - chunk);
                smaller.AddRange(Ops.Take(start));
                smaller.AddRange(Ops.Skip(start + chunk));
                yield return new PoolSequence(MaximumEngines, Policy, smaller);
            }
        }

        if (MaximumEngines > 1)
        {
            yield return new PoolSequence(MaximumEngines - 1, Policy, Ops);
        }

        for (int i = 0; i < count; i++)
        {
            PoolOp op = Ops[i];
            if (op.OnWorker)
            {
                yield return Replace(i, op with { OnWorker = false });
            }

            if (op.Arg > 0)
            {
                yield return Replace(i, op with { Arg = op.Arg - 1 });
            }
        }
    }

    private PoolSequence Replace(int index, PoolOp op)
    {
        var ops = Ops.ToList();
        ops[index] = op;
        return new PoolSequence(MaximumEngines, Policy, ops);
    }
}
