namespace ModelCaching.Fleet;

/// <summary>What made a version the desired one.</summary>
public enum FleetAction
{
    /// <summary>It was published.</summary>
    Publish,

    /// <summary>A rollback went back to it.</summary>
    Rollback,

    /// <summary>It was pinned: publishes are kept but do not replace it until it is unpinned.</summary>
    Pin,

    /// <summary>An unpin went back to the newest published version.</summary>
    Unpin,

    /// <summary>A staged rollout was promoted to every instance.</summary>
    Promote,

    /// <summary>A staged rollout was aborted by an operator.</summary>
    Abort,

    /// <summary>A staged rollout stopped by itself: a canary failed on the new version.</summary>
    Stop,
}
