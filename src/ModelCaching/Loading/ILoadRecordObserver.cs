namespace ModelCaching.Loading;

/// <summary>
/// A model source that wants to know how each load attempt ended (a fleet's source reports a failed load of the version
/// it fetched at once, rather than at its next heartbeat). The cache's history tells it each record as it is added.
/// </summary>
/// <remarks>
/// Called on the thread that ends the attempt, inside the load's bookkeeping: an implementation only notes the record and
/// returns (no I/O, no lock held long, no throw). An interface the source implements, not a callback handed around.
/// </remarks>
internal interface ILoadRecordObserver
{
    void OnRecorded(ModelLoadRecord record);
}
