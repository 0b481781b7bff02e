using System.Numerics;
using System.Runtime.CompilerServices;

namespace ModelCaching.ML;

/// <summary>
/// A generation's per-core slots of idle engines: one <see cref="PaddedSlot"/> per core (or per engine, whichever is
/// more), each alone on its cache lines, taken and filled with one interlocked exchange. The slots only hold engines;
/// what an engine is and when it may be kept is the generation's business (<see cref="EngineGeneration{TData, TPrediction}"/>).
/// </summary>
/// <remarks>
/// A struct held in a readonly field of its generation, so the hot path reaches the array with no extra indirection.
/// Non-generic: engines are held as objects and cast back by the generation (<see cref="Unsafe.As{T}(object)"/>).
/// </remarks>
internal readonly struct EngineSlots
{
    private readonly PaddedSlot[] _slots;
    private readonly int _mask;

    /// <summary>Creates at least <paramref name="minimum"/> slots, rounded up to a power of two so a core's index is a mask.</summary>
    public EngineSlots(int minimum)
    {
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(minimum, 1));
        _slots = new PaddedSlot[slots];
        _mask = slots - 1;
    }

    /// <summary>The slot of the core the calling thread runs on now.</summary>
    public int CurrentIndex
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Thread.GetCurrentProcessorId() & _mask;
    }

    /// <summary>Empties the slot <paramref name="index"/> and returns what it held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public object? Take(int index) => Interlocked.Exchange(ref _slots[index & _mask].Value, null);

    /// <summary>Puts <paramref name="engine"/> in the slot <paramref name="index"/> if it is empty (a full fence either way).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPut(object engine, int index) => Interlocked.CompareExchange(ref _slots[index & _mask].Value, engine, null) is null;

    /// <summary>Puts <paramref name="engine"/> in the first empty slot; <see langword="false"/> when every slot is full.</summary>
    public bool TryPutAny(object engine)
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Interlocked.CompareExchange(ref slots[i].Value, engine, null) is null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Takes an idle engine from any slot (reading before exchanging, so empty slots cost no write).</summary>
    public object? TakeAny()
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Value) is not null && Interlocked.Exchange(ref slots[i].Value, null) is { } engine)
            {
                return engine;
            }
        }

        return null;
    }

    /// <summary>How many slots there are (<see cref="Take"/> with 0 to <c>Count - 1</c> visits each once).</summary>
    public int Count => _slots.Length;

    /// <summary>Whether any slot holds an engine.</summary>
    public bool HasAny()
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i].Value) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a slot holds <paramref name="engine"/> now.</summary>
    public bool Contains(object engine)
    {
        PaddedSlot[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (ReferenceEquals(Volatile.Read(ref slots[i].Value), engine))
            {
                return true;
            }
        }

        return false;
    }
}
