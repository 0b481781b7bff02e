using System.Globalization;

namespace ModelCaching.Tests.ModelBased.Engine;

/// <summary>What one step of a model-based run does.</summary>
public enum MbtOpKind
{
    /// <summary><c>GetModelAsync</c> of a name (a first load, a hit, or a load after an eviction).</summary>
    Get,

    /// <summary><c>AcquireAsync</c>: a lease we hold until a release step.</summary>
    Acquire,

    /// <summary>Disposes one lease we hold (Arg picks which).</summary>
    Release,

    /// <summary>Disposes one lease we hold, then a copy of it again.</summary>
    ReleaseTwice,

    /// <summary>Two threads dispose the same lease copy at once.</summary>
    ReleaseRace,

    /// <summary>The source's content changes (Arg: size and whether it is bad content) and fires its change token.</summary>
    Change,

    /// <summary><c>ReloadAsync</c> of a name that has a cache.</summary>
    Reload,

    /// <summary><c>Invalidate</c> of a name that has a cache.</summary>
    Invalidate,

    /// <summary>From now on the name's loader fails (out of memory, I/O), hangs, or works again (Arg).</summary>
    Fault,

    /// <summary>The name's hung loaders return, and it stops hanging.</summary>
    ReleaseHung,

    /// <summary>From now on the name's size estimator lies: it reports its content's length times a factor (Arg).</summary>
    Lie,

    /// <summary>The fake clock moves on (Arg picks how far).</summary>
    Advance,
}

/// <summary>The loader's behaviour for a name (<see cref="MbtOpKind.Fault"/>).</summary>
public enum MbtFault
{
    None,
    OutOfMemory,
    IOError,
    Hang,
}

/// <summary>One step: a kind, the name it acts on (an index into <see cref="Names"/>) and an argument.</summary>
public sealed record MbtOp(MbtOpKind Kind, int Name, int Arg)
{
    public static readonly string[] Names = ["n0", "n1", "n2", "n3", "n4"];

    /// <summary>Content sizes a change picks from; the budget is 250, so 300 never fits.</summary>
    public static readonly int[] Sizes = [40, 80, 120, 300];

    public static readonly double[] LieFactors = [1, 0, 0.5, 2, 4];

    public static readonly int[] AdvanceSeconds = [1, 2, 6, 31];

    public static readonly MbtFault[] Faults = [MbtFault.None, MbtFault.OutOfMemory, MbtFault.IOError, MbtFault.Hang];

    public string NameText => Names[Name];

    public int ChangeSize => Sizes[Arg % Sizes.Length];

    public bool ChangeIsBad => Arg >= Sizes.Length;

    public double LieFactor => LieFactors[Arg % LieFactors.Length];

    public int Seconds => AdvanceSeconds[Arg % AdvanceSeconds.Length];

    public MbtFault FaultKind => Faults[Arg % Faults.Length];

    /// <summary>Reads as C#-like pseudo-code, so a shrunk sequence can be copied into a regression test.</summary>
    public override string ToString() => Kind switch
    {
        MbtOpKind.Get => $"Get({NameText})",
        MbtOpKind.Acquire => $"Acquire({NameText})",
        MbtOpKind.Release => $"Release(lease #{Arg})",
        MbtOpKind.ReleaseTwice => $"ReleaseTwice(lease #{Arg})",
        MbtOpKind.ReleaseRace => $"ReleaseRace(lease #{Arg})",
        MbtOpKind.Change => $"Change({NameText}, {ChangeSize} B{(ChangeIsBad ? ", bad content" : string.Empty)})",
        MbtOpKind.Reload => $"Reload({NameText})",
        MbtOpKind.Invalidate => $"Invalidate({NameText})",
        MbtOpKind.Fault => $"Fault({NameText}, {FaultKind})",
        MbtOpKind.ReleaseHung => $"ReleaseHung({NameText})",
        MbtOpKind.Lie => $"Lie({NameText}, x{LieFactor.ToString(CultureInfo.InvariantCulture)})",
        MbtOpKind.Advance => $"Advance({Seconds} s)",
        _ => Kind.ToString(),
    };
}

/// <summary>A sequence of steps; its text is one step a line (what a failure prints).</summary>
public sealed class MbtSequence(IReadOnlyList<MbtOp> ops)
{
    public IReadOnlyList<MbtOp> Ops { get; } = ops;

    public override string ToString() =>
        $"{Ops.Count} ops:{Environment.NewLine}" + string.Join(Environment.NewLine, Ops.Select(static (op, i) => $"  {i + 1,3}. {op}"));

    /// <summary>A random sequence (the soak harness and the FsCheck generator share it; the seed reproduces it).</summary>
    public static MbtSequence Random(int seed, int length)
    {
        var random = new Random(seed);
        var ops = new List<MbtOp>(length);
        while (ops.Count < length)
        {
            MbtOp op = RandomOp(random);
            if (!s_excluded.Contains(op.Kind))
            {
                ops.Add(op);
            }
        }

        return new MbtSequence(ops);
    }

    // MODELCACHING_MBT_EXCLUDE=Lie,Fault: op kinds left out (to look past a failure already found).
    private static readonly HashSet<MbtOpKind> s_excluded = [.. (Environment.GetEnvironmentVariable("MODELCACHING_MBT_EXCLUDE") ?? string.Empty)
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(static kind => Enum.Parse<MbtOpKind>(kind))];

    // MODELCACHING_MBT_FAULTS=None,Hang: the loader faults a Fault step picks from (all by default).
    private static readonly MbtFault[] s_faults = Environment.GetEnvironmentVariable("MODELCACHING_MBT_FAULTS") is { Length: > 0 } faults
        ? [.. faults.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(static fault => Enum.Parse<MbtFault>(fault))]
        : MbtOp.Faults;

    private static MbtOp RandomOp(Random random)
    {
        // Weights: many calls (they drive loads and evictions), fewer faults and changes.
        int roll = random.Next(100);
        int name = random.Next(MbtOp.Names.Length);
        (MbtOpKind kind, int arg) = roll switch
        {
            < 25 => (MbtOpKind.Get, 0),
            < 35 => (MbtOpKind.Acquire, 0),
            < 41 => (MbtOpKind.Release, random.Next(4)),
            < 44 => (MbtOpKind.ReleaseTwice, random.Next(4)),
            < 46 => (MbtOpKind.ReleaseRace, random.Next(4)),
            < 54 => (MbtOpKind.Change, random.Next(10) < 8 ? random.Next(3) : random.Next(8)),
            < 59 => (MbtOpKind.Reload, 0),
            < 65 => (MbtOpKind.Invalidate, 0),
            < 73 => (MbtOpKind.Fault, Array.IndexOf(MbtOp.Faults, s_faults[random.Next(s_faults.Length)])),
            < 78 => (MbtOpKind.ReleaseHung, 0),
            < 84 => (MbtOpKind.Lie, random.Next(MbtOp.LieFactors.Length)),
            _ => (MbtOpKind.Advance, random.Next(MbtOp.AdvanceSeconds.Length)),
        };
        return new MbtOp(kind, name, arg);
    }

    /// <summary>Smaller sequences to try when this one fails: chunks removed (halves first, then single ops), then simpler ops.</summary>
    public IEnumerable<MbtSequence> Shrink()
    {
        int count = Ops.Count;
        for (int chunk = count / 2; chunk >= 1; chunk /= 2)
        {
            for (int start = 0; start + chunk <= count; start += chunk)
            {
                var smaller = new List<MbtOp>(count - chunk);
                smaller.AddRange(Ops.Take(start));
                smaller.AddRange(Ops.Skip(start + chunk));
                yield return new MbtSequence(smaller);
            }
        }

        for (int i = 0; i < count; i++)
        {
            MbtOp op = Ops[i];
            if (op.Arg > 0 && op.Kind is MbtOpKind.Advance or MbtOpKind.Release or MbtOpKind.ReleaseTwice or MbtOpKind.ReleaseRace)
            {
                yield return Replace(i, op with { Arg = op.Arg - 1 });
            }

            if (op.Name > 0)
            {
                yield return Replace(i, op with { Name = op.Name - 1 });
            }
        }
    }

    private MbtSequence Replace(int index, MbtOp op)
    {
        var ops = Ops.ToList();
        ops[index] = op;
        return new MbtSequence(ops);
    }
}
